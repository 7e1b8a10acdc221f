import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTokenStore, parseTokenJson, TokenManager } from '@oidc-auth/core';
import { headerDigest, type MockServer, startMockServer } from '@oidc-auth/mock-server';
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
 * The leak matrix: with the token attached for the auth origin only, nothing reaches a foreign
 * host, a protocol-relative URL, or — through a 301/302/303/307/308 redirect — another host,
 * another port, a subdomain, or the same host over plain http.
 */
export interface LeakDriver {
  name: string;
  /** A client with the adapter, sharing `manager`, able to reach the test hosts. */
  createOn(network: TestNetwork, manager: TokenManager): { get(url: string): Promise<unknown> };
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

    async function mock(host: string, port = 0): Promise<MockServer> {
      const server = await startMockServer({ host, port });
      closers.push(() => server.close());
      return server;
    }

    async function managerFor(origin: string): Promise<{ manager: TokenManager; bearer: string }> {
      const issuer = await mock('127.0.0.1');
      const store = new MemoryTokenStore();
      const token = parseTokenJson(issuer.issueToken(), Date.now() / 1000);
      await store.put(origin, token);
      // Plain http on named test hosts (not loopback names): allowed explicitly.
      const manager = new TokenManager({
        host: origin,
        store,
        interactive: false,
        allowInsecureHttp: true,
      });
      closers.push(() => manager.close());
      return { manager, bearer: `Bearer ${token.access_token}` };
    }

    const seen = (s: MockServer, path: string) =>
      Object.keys(s.stats().paths[path]?.authorization ?? {});

    it('a foreign host, directly', async () => {
      const auth = await mock('127.0.0.1');
      const evil = await mock('127.0.0.3');
      const { manager } = await managerFor(`http://auth.oidc.test:${auth.port}`);
      const client = driver.createOn(network, manager);
      await client.get(`http://evil.test:${evil.port}/leak`).catch(() => undefined);
      expect(evil.stats().paths['/leak']?.calls).toBe(1);
      expect(seen(evil, '/leak')).toEqual([]);
    });

    const targets = {
      'another host': async (_auth: MockServer) => {
        const s = await mock('127.0.0.3');
        return { server: s, url: `http://evil.test:${s.port}/leak` };
      },
      'another port': async () => {
        const s = await mock('127.0.0.1');
        return { server: s, url: `http://auth.oidc.test:${s.port}/leak` };
      },
      'a subdomain (same port)': async (auth: MockServer) => {
        const s = await mock('127.0.0.2', auth.port);
        return { server: s, url: `http://api.auth.oidc.test:${auth.port}/leak` };
      },
    } as const;

    for (const status of [301, 302, 303, 307, 308]) {
      for (const [label, target] of Object.entries(targets)) {
        it(`a ${status} redirect to ${label}`, async () => {
          const auth = await mock('127.0.0.1');
          const { manager, bearer } = await managerFor(`http://auth.oidc.test:${auth.port}`);
          const { server, url } = await target(auth);
          const client = driver.createOn(network, manager);
          await client
            .get(
              `http://auth.oidc.test:${auth.port}/redirect?to=${encodeURIComponent(url)}&status=${status}`,
            )
            .catch(() => undefined);
          expect(seen(auth, '/redirect')).toEqual([headerDigest(bearer)]);
          expect(server.stats().paths['/leak']?.calls).toBe(1);
          expect(seen(server, '/leak')).toEqual([]);
        });
      }

      it(`a ${status} redirect from https to http on the same host`, async () => {
        const plain = await mock('127.0.0.1');
        const received: string[] = [];
        const tls = createHttpsServer({ key, cert }, (req, res) => {
          received.push(req.headers.authorization ?? '');
          res.writeHead(status, { location: `http://auth.oidc.test:${plain.port}/leak` });
          res.end();
        });
        await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
        closers.push(() => new Promise<void>((resolve) => tls.close(() => resolve())));
        const port = (tls.address() as { port: number }).port;
        const { manager, bearer } = await managerFor(`https://auth.oidc.test:${port}`);
        const client = driver.createOn(network, manager);
        await client.get(`https://auth.oidc.test:${port}/start`).catch(() => undefined);
        expect(received).toEqual([bearer]);
        expect(plain.stats().paths['/leak']?.calls).toBe(1);
        expect(seen(plain, '/leak')).toEqual([]);
      });
    }
  });
}
