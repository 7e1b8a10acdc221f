import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DpopKey,
  MemoryTokenStore,
  parseTokenJson,
  type Token,
  TokenManager,
} from '@oidc-auth/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/** Test host names, all on loopback: no outside address is ever contacted. */
const names: Record<string, string> = {
  'auth.oidc.test': '127.0.0.1',
  'api.auth.oidc.test': '127.0.0.2',
  'evil.test': '127.0.0.3',
};

/** A DNS lookup that knows only the test names (and localhost). */
export const testLookup = ((host: string, options: unknown, callback?: unknown) => {
  const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
  const address = names[host] ?? (host === 'localhost' ? '127.0.0.1' : undefined);
  if (!address) return cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
  if (all) cb(null, [{ address, family: 4 }]);
  else cb(null, address, 4);
}) as unknown as LookupFunction;

/** What a driver needs to reach the test hosts: the lookup, and the CA of the TLS test host. */
export interface TestNetwork {
  lookup: LookupFunction;
  ca: string;
}

/**
 * The leak matrix: with the token attached for the auth origin only, neither `Authorization`
 * nor `DPoP` reaches a foreign host, or — through a 301/302/303/307/308 redirect — another
 * host, another port, a subdomain, or the same host and port over the other scheme (https →
 * http and http → https); a request that starts on a foreign host gains no token on a later
 * hop, even one to the allowed origin (a confused deputy: the foreign host chooses where it
 * goes), nor does one that passed through a foreign host on the way; and a 401 from a foreign origin reached by a redirect neither spends a refresh nor
 * leaves its `DPoP-Nonce` with the allowed origin. Each case runs with a
 * bearer token and with a DPoP-bound one.
 */
export interface LeakDriver {
  name: string;
  /** A client with the adapter, sharing `manager`, able to reach the test hosts. */
  createOn(network: TestNetwork, manager: TokenManager): { get(url: string): Promise<unknown> };
}

/** One request a recording server saw. */
interface Seen {
  path: string;
  authorization: string | undefined;
  dpop: string | undefined;
}

/** A server that records what reached it: redirects on `/redirect?to=&status=`, 401s on `/401`. */
interface Recorder {
  port: number;
  seen: Seen[];
  at(path: string): Seen[];
}

function record(seen: Seen[], req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.push({
    path: url.pathname,
    authorization: req.headers.authorization,
    dpop: req.headers.dpop as string | undefined,
  });
  req.resume();
  if (url.pathname === '/redirect') {
    res.writeHead(Number(url.searchParams.get('status')), {
      location: url.searchParams.get('to') ?? '/',
    });
    res.end();
  } else if (url.pathname === '/401') {
    // A foreign API's challenge, with a nonce of its own.
    res.writeHead(401, {
      'www-authenticate': 'DPoP error="invalid_token"',
      'dpop-nonce': 'foreign-nonce',
      'content-type': 'application/json',
    });
    res.end('{"detail":"Invalid token"}');
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  }
}

function payloadOf(proof: string | undefined): Record<string, unknown> {
  const part = proof?.split('.')[1];
  return part
    ? (JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>)
    : {};
}

export function leakMatrix(driver: LeakDriver): void {
  describe(`${driver.name}: leak matrix`, () => {
    let dir = '';
    let network: TestNetwork;
    let key = '';
    let cert = '';
    const closers: Array<() => Promise<void> | void> = [];

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'oidc-auth-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=auth.oidc.test',
          '-addext',
          'subjectAltName=DNS:auth.oidc.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      key = readFileSync(join(dir, 'key.pem'), 'utf8');
      cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      network = { lookup: testLookup, ca: cert };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
    });

    /**
     * A recording server on `address` that speaks plain http and TLS on the one port (it looks
     * at the first byte: 0x16 opens a TLS handshake), so that a redirect can change only the
     * scheme — what got once treated as the same place.
     */
    async function recorder(address: string, port = 0): Promise<Recorder> {
      const seen: Seen[] = [];
      const handler = (req: IncomingMessage, res: ServerResponse) => record(seen, req, res);
      const plain = createHttpServer(handler);
      const tls = createHttpsServer({ key, cert }, handler);
      const sockets = new Set<import('node:net').Socket>();
      const server = createNetServer({ pauseOnConnect: true }, (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.once('readable', () => {
          const first = socket.read(1) as Buffer | null;
          if (!first) return;
          socket.unshift(first);
          (first[0] === 0x16 ? tls : plain).emit('connection', socket);
        });
      });
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => resolve());
          }),
      );
      return {
        port: (server.address() as AddressInfo).port,
        seen,
        at: (path) => seen.filter((s) => s.path === path),
      };
    }

    type Kind = 'bearer' | 'DPoP';
    const header = (kind: Kind) =>
      `${kind === 'DPoP' ? 'DPoP' : 'Bearer'} leak-matrix-${kind}-access`;

    async function managerFor(origin: string, kind: Kind): Promise<TokenManager> {
      const store = new MemoryTokenStore();
      const now = Math.floor(Date.now() / 1000);
      const token: Token = parseTokenJson(
        {
          access_token: `leak-matrix-${kind}-access`,
          refresh_token: `leak-matrix-${kind}-refresh`,
          token_type: kind === 'DPoP' ? 'DPoP' : 'Bearer',
          expires: now + 3600,
          refresh_expires: now + 7200,
        },
        now,
      );
      // Plain http on named test hosts (not loopback names): allowed explicitly.
      const manager =
        kind === 'DPoP'
          ? new TokenManager({
              issuer: origin,
              clientId: 'leak-matrix',
              dpop: true,
              store,
              interactive: false,
              allowInsecureHttp: true,
            })
          : new TokenManager({ host: origin, store, interactive: false, allowInsecureHttp: true });
      await store.put(
        manager.host,
        kind === 'DPoP' ? { ...token, dpop_key: (await DpopKey.generate()).jwk } : token,
      );
      closers.push(() => manager.close());
      return manager;
    }

    /** Nothing of ours in what a foreign place saw. */
    function clean(seen: Seen[]): void {
      expect(seen.length).toBeGreaterThan(0);
      for (const s of seen) {
        expect(s.authorization).toBeUndefined();
        expect(s.dpop).toBeUndefined();
      }
    }

    /** Ours, once, on the allowed place. */
    function ours(seen: Seen[], kind: Kind): void {
      expect(seen).toHaveLength(1);
      expect(seen[0]?.authorization).toBe(header(kind));
      if (kind === 'DPoP') expect(payloadOf(seen[0]?.dpop).htm).toBe('GET');
      else expect(seen[0]?.dpop).toBeUndefined();
    }

    /** Where a redirect from the auth origin can lead: the place and its URL. */
    const targets: Record<
      string,
      (auth: Recorder) => Promise<{ place: Recorder; url: string; from: 'http' | 'https' }>
    > = {
      'another host': async () => {
        const place = await recorder('127.0.0.3');
        return { place, url: `http://evil.test:${place.port}/leak`, from: 'http' };
      },
      'another port': async () => {
        const place = await recorder('127.0.0.1');
        return { place, url: `http://auth.oidc.test:${place.port}/leak`, from: 'http' };
      },
      'a subdomain (same port)': async (auth) => {
        const place = await recorder('127.0.0.2', auth.port);
        return { place, url: `http://api.auth.oidc.test:${auth.port}/leak`, from: 'http' };
      },
      'the same host and port over http (from https)': async (auth) => ({
        place: auth,
        url: `http://auth.oidc.test:${auth.port}/leak`,
        from: 'https',
      }),
      'the same host and port over https (from http)': async (auth) => ({
        place: auth,
        url: `https://auth.oidc.test:${auth.port}/leak`,
        from: 'http',
      }),
    };

    for (const kind of ['bearer', 'DPoP'] as const) {
      it(`${kind}: a foreign host, directly`, async () => {
        const auth = await recorder('127.0.0.1');
        const evil = await recorder('127.0.0.3');
        const manager = await managerFor(`http://auth.oidc.test:${auth.port}`, kind);
        const client = driver.createOn(network, manager);
        await client.get(`http://evil.test:${evil.port}/leak`).catch(() => undefined);
        clean(evil.at('/leak'));
      });

      for (const status of [301, 302, 303, 307, 308]) {
        for (const [label, target] of Object.entries(targets)) {
          it(`${kind}: a ${status} redirect to ${label}`, async () => {
            const auth = await recorder('127.0.0.1');
            const { place, url, from } = await target(auth);
            const origin = `${from}://auth.oidc.test:${auth.port}`;
            const manager = await managerFor(origin, kind);
            const client = driver.createOn(network, manager);
            await client
              .get(`${origin}/redirect?to=${encodeURIComponent(url)}&status=${status}`)
              .catch(() => undefined);
            ours(auth.at('/redirect'), kind);
            expect(place.at('/leak')).toHaveLength(1);
            clean(place.at('/leak'));
          });
        }
      }

      for (const status of [301, 302, 303, 307, 308]) {
        it(`${kind}: a request that starts on a foreign host and is sent by a ${status} to the allowed origin gains no token there`, async () => {
          const auth = await recorder('127.0.0.1');
          const evil = await recorder('127.0.0.3');
          const origin = `http://auth.oidc.test:${auth.port}`;
          const manager = await managerFor(origin, kind);
          const client = driver.createOn(network, manager);
          const to = encodeURIComponent(`${origin}/api/admin/delete-account`);
          await client
            .get(`http://evil.test:${evil.port}/redirect?to=${to}&status=${status}`)
            .catch(() => undefined);
          clean(evil.at('/redirect'));
          expect(auth.at('/api/admin/delete-account')).toHaveLength(1);
          clean(auth.at('/api/admin/delete-account'));
        });

        it(`${kind}: a request sent by the allowed origin to a foreign host, and by it (${status}) back, gains no token on the way back`, async () => {
          const auth = await recorder('127.0.0.1');
          const evil = await recorder('127.0.0.3');
          const origin = `http://auth.oidc.test:${auth.port}`;
          const manager = await managerFor(origin, kind);
          const client = driver.createOn(network, manager);
          const back = encodeURIComponent(`${origin}/api/admin/delete-account`);
          const away = encodeURIComponent(
            `http://evil.test:${evil.port}/redirect?to=${back}&status=${status}`,
          );
          await client.get(`${origin}/redirect?to=${away}&status=${status}`).catch(() => undefined);
          ours(auth.at('/redirect'), kind);
          clean(evil.at('/redirect'));
          expect(auth.at('/api/admin/delete-account')).toHaveLength(1);
          clean(auth.at('/api/admin/delete-account'));
        });
      }

      it(`${kind}: a redirect to a foreign 401 is not recovered (no refresh), and its DPoP-Nonce stays there`, async () => {
        const auth = await recorder('127.0.0.1');
        const evil = await recorder('127.0.0.3');
        const origin = `http://auth.oidc.test:${auth.port}`;
        const manager = await managerFor(origin, kind);
        const client = driver.createOn(network, manager);
        const to = encodeURIComponent(`http://evil.test:${evil.port}/401`);
        for (let i = 0; i < 5; i++) {
          await client.get(`${origin}/redirect?to=${to}&status=302`).catch(() => undefined);
        }
        await client.get(`${origin}/after`).catch(() => undefined);
        // Only the five redirects and the last request reached the auth origin: no token request.
        expect(auth.seen.map((s) => s.path)).toEqual([...Array(5).fill('/redirect'), '/after']);
        expect(evil.at('/401')).toHaveLength(5);
        clean(evil.at('/401'));
        const last = auth.at('/after')[0];
        expect(last?.authorization).toBe(header(kind));
        expect(payloadOf(last?.dpop).nonce).toBeUndefined();
      });
    }
  });
}
