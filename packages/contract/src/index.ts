import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { inspect } from 'node:util';
import {
  type AdapterOptions,
  type AuthError,
  type DeviceCodeEvent,
  DpopKey,
  ErrorCode,
  isAuthError,
  MemoryTokenStore,
  parseTokenJson,
  type Sleep,
  type Token,
  TokenManager,
} from '@oidc-auth/core';
import {
  headerDigest,
  type MockServer,
  type MockServerOptions,
  startMockServer,
} from '@oidc-auth/mock-server';
import { startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { afterEachTest } from '@oidc-auth/test-support/cleanup';
import { listenLoopback } from '@oidc-auth/test-support/loopback';
import {
  clientId,
  dpopClientId,
  startDpopResourceServer,
  startProvider,
  startResourceServer,
  type TestProvider,
} from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it, vi } from 'vitest';

export * from '@oidc-auth/test-support/loopback';
export * from '@oidc-auth/test-support/oidc-provider';
export { storeConformance } from './store-conformance.js';

/** Device-flow polls that wait no real time: the contract is about adapters, not intervals. */
const noWait: Sleep = (_ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    setImmediate(() => (signal?.aborted ? reject(signal.reason) : resolve()));
  });

/** A request body of one kind; each driver sends it the way its client does. */
export type BodyKind =
  | { kind: 'json'; value: Record<string, unknown> }
  | { kind: 'text'; value: string }
  | { kind: 'urlencoded'; value: URLSearchParams }
  | { kind: 'multipart'; value: FormData }
  | { kind: 'blob'; value: Blob }
  | { kind: 'bytes'; value: ArrayBuffer }
  | { kind: 'stream'; value: () => ReadableStream<Uint8Array> };

export interface ContractRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Absolute, or relative to `baseUrl` when the client was made with one. */
  url: string;
  body?: BodyKind;
  signal?: AbortSignal;
}

/** What came back: a response the client resolved with, or what it threw. */
export type Outcome = { status: number; json: unknown } | { error: unknown };

/** A response body as the contract reads it: parsed JSON, or the text when it is not JSON. */
export function bodyOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface ContractClient {
  send(request: ContractRequest): Promise<Outcome>;
}

/** How the contract drives one adapter. */
export interface AdapterDriver {
  name: string;
  /**
   * A client of this library with the adapter installed; `baseUrl` uses its baseURL/prefixUrl.
   * `lenient`: made with the option that turns HTTP errors into resolved responses
   * (`validateStatus: () => true`, `throwHttpErrors: false`); fetch always resolves.
   */
  create(options: AdapterOptions, baseUrl?: string, lenient?: boolean): ContractClient;
  /** True when the outcome is a 401 reported the way this client always reports one. */
  isFinal401(outcome: Outcome): boolean;
  /** The AuthError the client surfaced, directly or as the `cause` of its own error. */
  authErrorOf(outcome: Outcome): AuthError | undefined;
  /** Body kinds this client can send (all but what it has no API for). */
  bodies: ReadonlyArray<BodyKind['kind']>;
  /** Whether a one-shot stream body is re-sent after a 401 (else the 401 reaches the caller). */
  replaysStreams: boolean;
}

const servers: MockServer[] = [];
const managers: TokenManager[] = [];
const cleanupsOidc: Array<() => Promise<void>> = [];

afterEachTest(async () => {
  for (const m of managers.splice(0)) m.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(cleanupsOidc.splice(0).map((c) => c()));
});

async function server(options: MockServerOptions = {}): Promise<MockServer> {
  const s = await startMockServer({ interval: 1, ...options });
  servers.push(s);
  return s;
}

function asToken(answer: ReturnType<MockServer['issueToken']>): Token {
  return parseTokenJson(answer, Date.now() / 1000);
}

/** A manager logged in to `auth`, its token stored an hour ago and expiring in `expiresIn` s. */
async function loggedIn(
  auth: MockServer,
  options: { expiresIn?: number; onDeviceCode?: (e: DeviceCodeEvent) => void } = {},
) {
  let seeding = true;
  const store = new MemoryTokenStore({
    clock: () => (seeding ? Date.now() - 3_600_000 : Date.now()),
  });
  const token = asToken(auth.issueToken());
  if (options.expiresIn !== undefined) {
    token.expires = Math.floor(Date.now() / 1000) + options.expiresIn;
  }
  await store.put(auth.url, token);
  seeding = false;
  const manager = new TokenManager({
    host: auth.url,
    store,
    retry: { retries: 2, minTimeout: 5, maxTimeout: 20 },
    sleep: noWait,
    ...(options.onDeviceCode ? { onDeviceCode: options.onDeviceCode } : { interactive: false }),
  });
  managers.push(manager);
  return { manager, token };
}

function approve(auth: MockServer) {
  const prompts: DeviceCodeEvent[] = [];
  return {
    prompts,
    onDeviceCode: (event: DeviceCodeEvent) => {
      prompts.push(event);
      auth.approve(event.userCode);
    },
  };
}

/** JSON of anything a user might log; circular parts are left out. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return undefined;
      seen.add(v);
    }
    return v instanceof Error ? { ...v, message: v.message } : v;
  });
}

function ok(outcome: Outcome): { status: number; json: Record<string, unknown> } {
  if ('error' in outcome) throw outcome.error;
  return outcome as { status: number; json: Record<string, unknown> };
}

/** A server on 127.0.0.1 that answers 200 and keeps every request's headers. */
async function headerLog() {
  const headers: IncomingHttpHeaders[] = [];
  const log = await listenLoopback((req, res) => {
    headers.push(req.headers);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  return { url: log.url, headers, close: log.close };
}

function authHeaders(s: MockServer, path: string): Record<string, number> {
  return s.stats().paths[path]?.authorization ?? {};
}

const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const binary = new Uint8Array(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

function body(kind: BodyKind['kind']): {
  body: BodyKind;
  check: (echo: Record<string, unknown>) => void;
} {
  switch (kind) {
    case 'json':
      return {
        body: { kind, value: { name: 'Ada', n: [1, 2, 3] } },
        check: (e) => expect(JSON.parse(e.body as string)).toEqual({ name: 'Ada', n: [1, 2, 3] }),
      };
    case 'text':
      return {
        body: { kind, value: 'plain text ✓' },
        check: (e) => expect(e.body).toBe('plain text ✓'),
      };
    case 'urlencoded':
      return {
        body: { kind, value: new URLSearchParams({ a: '1', b: 'two words' }) },
        check: (e) =>
          expect(Object.fromEntries(new URLSearchParams(e.body as string))).toEqual({
            a: '1',
            b: 'two words',
          }),
      };
    case 'multipart': {
      const form = new FormData();
      form.set('field', 'value-123');
      form.set('file', new Blob([binary]), 'data.bin');
      return {
        body: { kind, value: form },
        check: (e) => {
          expect(e.contentType).toMatch(/^multipart\/form-data; boundary=/);
          expect(e.body).toContain('name="field"');
          expect(e.body).toContain('value-123');
          expect(e.body).toContain('filename="data.bin"');
        },
      };
    }
    case 'blob':
      return {
        body: { kind, value: new Blob([binary]) },
        check: (e) => expect(e.bodySha256).toBe(sha(binary)),
      };
    case 'bytes':
      return {
        body: { kind, value: binary.slice().buffer },
        check: (e) => expect(e.bodySha256).toBe(sha(binary)),
      };
    case 'stream':
      return {
        body: {
          kind,
          value: () =>
            new ReadableStream({
              start(controller) {
                controller.enqueue(binary);
                controller.close();
              },
            }),
        },
        check: (e) => expect(e.bodySha256).toBe(sha(binary)),
      };
  }
}

/**
 * A manager for oidc-provider's client `client` whose device logins are approved at once,
 * closed with the other managers after the test.
 */
function approvingManager(op: TestProvider, client: string, dpop = false): TokenManager {
  const manager = new TokenManager({
    issuer: op.issuer,
    clientId: client,
    ...(dpop ? { dpop } : {}),
    store: new MemoryTokenStore(),
    sleep: noWait,
    onDeviceCode: (event) => void op.decide(event.userCode, 'approve'),
  });
  managers.push(manager);
  return manager;
}

/**
 * The adapters against a real OpenID Provider (oidc-provider) with a manager in the `oidc`
 * dialect: device login, attach, 401 → one refresh (rotating), no token to other origins.
 */
export function adapterOidcContract(driver: AdapterDriver): void {
  describe(`${driver.name} adapter with an OpenID Provider (dialect "oidc")`, () => {
    it('logs in, attaches, recovers from 401 with one rotating refresh, keeps the token home', async () => {
      const op = await startProvider();
      const api = await startResourceServer(op);
      const foreign = await server();
      cleanupsOidc.push(
        () => op.close(),
        () => api.close(),
      );
      const manager = approvingManager(op, clientId);
      const client = driver.create({ manager, origins: [api.url] });

      const first = ok(await client.send({ method: 'GET', url: `${api.url}/data` }));
      expect(first.json).toEqual({ path: '/data', subject: 'tester' });
      const token = await manager.getToken();
      expect(api.seen['/data']).toEqual([`Bearer ${token.access_token}`]);
      expect(op.grants['urn:ietf:params:oauth:grant-type:device_code']).toBe(1);

      await api.revoke(token.access_token);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.send({ method: 'POST', url: `${api.url}/upload`, body: body('json').body }),
        ),
      );
      expect(results.map((r) => ok(r).status)).toEqual(Array(10).fill(200));
      expect(op.grants.refresh_token).toBe(1);
      expect((await manager.getToken()).refresh_token).not.toBe(token.refresh_token);

      await client.send({ method: 'GET', url: `${foreign.url}/leak` });
      expect(authHeaders(foreign, '/leak')).toEqual({});
      expect(Object.keys(api.seen).sort()).toEqual(['/data', '/upload']);
    }, 30_000);

    for (const deadRefresh of ['invalid_request', 'empty-400', 'empty-401'] as const) {
      it(`a deleted refresh token answered ${deadRefresh} (as real providers do) → the session ends: one new login where one may run, else LOGIN_REQUIRED`, async () => {
        const provider = await startBentProvider({ deadRefresh });
        cleanupsOidc.push(() => provider.close());
        const store = new MemoryTokenStore();
        const options = {
          issuer: provider.issuer,
          clientId: provider.clientId,
          verifyIdToken: false,
          store,
          sleep: noWait,
        } as const;
        const user = new TokenManager({ ...options, onDeviceCode: () => undefined });
        const batch = new TokenManager({ ...options, interactive: false, env: {} });
        managers.push(user, batch);
        const url = `${provider.issuer}/api/data`;
        const client = driver.create({ manager: user, origins: [provider.issuer] });
        expect(ok(await client.send({ method: 'GET', url })).status).toBe(200);

        // An admin deleted the sessions: the API refuses the access token, the provider the
        // refresh token in its own words. A new login (device flow, approved) fixes it, once.
        provider.revokeAccessTokens();
        provider.deleteRefreshTokens();
        expect(ok(await client.send({ method: 'GET', url })).status).toBe(200);
        const device = 'urn:ietf:params:oauth:grant-type:device_code';
        expect(provider.stats.grants[device]).toBe(2);
        expect(provider.stats.grants.refresh_token).toBe(1);

        // A program that may not log in is told the session ended (not a server error forever).
        provider.revokeAccessTokens();
        provider.deleteRefreshTokens();
        const batchClient = driver.create({ manager: batch, origins: [provider.issuer] });
        const ended = driver.authErrorOf(await batchClient.send({ method: 'GET', url }));
        expect(ended?.code).toBe(ErrorCode.LOGIN_REQUIRED);
        expect(ended?.detail).toMatchObject({ sessionEnded: true });
        expect(provider.stats.grants.refresh_token).toBe(2);
        expect(provider.stats.grants[device]).toBe(2);
      });
    }

    it('DPoP required: bound tokens, a proof per request, nonces at the provider and the API', async () => {
      const op = await startProvider();
      op.requireDpopNonce(true);
      const api = await startDpopResourceServer(op);
      const foreign = await headerLog();
      cleanupsOidc.push(
        () => op.close(),
        () => api.close(),
        () => foreign.close(),
      );
      const manager = approvingManager(op, dpopClientId, true);
      const client = driver.create({ manager, origins: [api.url] });

      // The login's token requests first meet the provider's use_dpop_nonce, then succeed.
      const first = ok(await client.send({ method: 'GET', url: `${api.url}/data` }));
      expect(first.json).toEqual({ path: '/data', subject: 'tester' });
      const token = await manager.getToken();
      expect(token.token_type).toBe('DPoP');
      // The key stays between the manager and the store: never in a token handed out.
      expect(token.dpop_key).toBeUndefined();
      expect((await manager.store.get(manager.host))?.token.dpop_key).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
      });
      expect(api.seen['/data']).toEqual([`DPoP ${token.access_token}`]);
      expect(api.proofs['/data']?.[0]).toMatchObject({ htm: 'GET', htu: `${api.url}/data` });

      // The API starts demanding a nonce: one challenge, one re-send with it, no refresh.
      api.rotateNonce();
      const upload = ok(
        await client.send({ method: 'POST', url: `${api.url}/upload`, body: body('json').body }),
      );
      expect(upload.status).toBe(200);
      expect(api.counts.nonceChallenges).toBe(1);
      expect(op.grants.refresh_token ?? 0).toBe(0);
      // The nonce is kept: the next request carries it at once (and htu drops the query).
      ok(await client.send({ method: 'GET', url: `${api.url}/data?page=2` }));
      expect(api.counts.nonceChallenges).toBe(1);
      expect(api.proofs['/data']?.at(-1)).toMatchObject({ htu: `${api.url}/data` });
      // A rotated nonce: one more challenge, answered the same way.
      const rotated = api.rotateNonce();
      ok(await client.send({ method: 'GET', url: `${api.url}/data` }));
      expect(api.counts.nonceChallenges).toBe(2);
      expect(api.proofs['/data']?.at(-1)?.nonce).toBe(rotated);
      // A refused proof: one re-send with a new proof, and no refresh spent on it.
      api.refuseNextProof();
      ok(await client.send({ method: 'GET', url: `${api.url}/data` }));
      expect(api.counts.refused).toBe(1);
      expect(op.grants.refresh_token ?? 0).toBe(0);

      // A revoked token: 401 → one refresh of the key-bound refresh token, for all five.
      await api.revoke(token.access_token);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => client.send({ method: 'GET', url: `${api.url}/data` })),
      );
      expect(results.map((r) => ok(r).status)).toEqual(Array(5).fill(200));
      expect(op.grants.refresh_token).toBe(1);
      const refreshed = await manager.getToken();
      expect(refreshed.token_type).toBe('DPoP');
      expect(refreshed.refresh_token).not.toBe(token.refresh_token);
      expect(api.counts.refused).toBe(6);

      // Stolen tokens are useless without the key: the access token as a bearer token, and
      // the refresh token spent without a proof, are both refused.
      const stolen = await fetch(`${api.url}/data`, {
        headers: { authorization: `DPoP ${refreshed.access_token}` },
      });
      expect(stolen.status).toBe(401);
      const spent = await fetch(`${op.issuer}/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshed.refresh_token,
          client_id: dpopClientId,
        }),
      });
      expect(spent.status).toBe(400);
      expect(op.grants.refresh_token).toBe(1);

      // No token and no proof to other origins.
      await client.send({ method: 'GET', url: `${foreign.url}/leak` });
      expect(foreign.headers).toHaveLength(1);
      expect(foreign.headers[0]).not.toHaveProperty('authorization');
      expect(foreign.headers[0]).not.toHaveProperty('dpop');
    }, 30_000);
  });
}

/**
 * The adapters' contract: the same scenarios and the same expected counts for every adapter,
 * against the mock server over real HTTP.
 */
export function adapterContract(driver: AdapterDriver): void {
  describe(`${driver.name} adapter contract`, () => {
    it('1. valid token → header attached, no token-endpoint call', async () => {
      const auth = await server();
      const { manager, token } = await loggedIn(auth);
      const client = driver.create({ manager });
      const res = ok(await client.send({ method: 'GET', url: `${auth.url}/api/data` }));
      expect(res.status).toBe(200);
      expect(authHeaders(auth, '/api/data')).toEqual({
        [headerDigest(`Bearer ${token.access_token}`)]: 1,
      });
      expect(auth.stats().routes.token).toBe(0);
    });

    it('2. token close to expiry → refreshed before sending; 100 concurrent requests → 1 refresh', async () => {
      const auth = await server();
      const { manager, token } = await loggedIn(auth, { expiresIn: 20 });
      const client = driver.create({ manager });
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          client.send({ method: 'GET', url: `${auth.url}/api/data` }),
        ),
      );
      expect(results.map((r) => ok(r).status)).toEqual(Array(100).fill(200));
      expect(auth.stats().grants.refresh_token).toBe(1);
      expect(auth.stats().routes.api).toBe(100);
      expect(
        authHeaders(auth, '/api/data')[headerDigest(`Bearer ${token.access_token}`)],
      ).toBeUndefined();
    });

    describe('3. 401 with a good refresh token → 1 refresh, re-sent once, 200, body intact', () => {
      for (const kind of driver.bodies) {
        it(
          kind === 'stream' && !driver.replaysStreams
            ? `${kind}: not replayed, the 401 reaches the caller, the next request works`
            : kind,
          async () => {
            const auth = await server();
            const { manager } = await loggedIn(auth);
            const client = driver.create({ manager });
            await client.send({ method: 'GET', url: `${auth.url}/api/warm` });
            auth.revokeAll({ keepRefresh: true });
            const { body: payload, check } = body(kind);
            const outcome = await client.send({
              method: 'POST',
              url: `${auth.url}/api/upload`,
              body: payload,
            });
            expect(auth.stats().grants.refresh_token).toBe(1);
            if (kind === 'stream' && !driver.replaysStreams) {
              expect(driver.isFinal401(outcome)).toBe(true);
              expect(auth.stats().paths['/api/upload']?.calls).toBe(1);
              const next = ok(await client.send({ method: 'GET', url: `${auth.url}/api/after` }));
              expect(next.status).toBe(200);
              expect(auth.stats().grants.refresh_token).toBe(1);
              return;
            }
            const res = ok(outcome);
            expect(res.status).toBe(200);
            expect(res.json.method).toBe('POST');
            check(res.json);
            expect(auth.stats().paths['/api/upload']?.calls).toBe(2);
          },
        );
      }

      it('PUT with a JSON body', async () => {
        const auth = await server();
        const { manager } = await loggedIn(auth);
        const client = driver.create({ manager });
        auth.revokeAll({ keepRefresh: true });
        const { body: payload, check } = body('json');
        const res = ok(
          await client.send({ method: 'PUT', url: `${auth.url}/api/item`, body: payload }),
        );
        expect(res.json.method).toBe('PUT');
        check(res.json);
      });
    });

    it('4. 401 and the refresh is refused too → the device flow runs again → 200', async () => {
      const auth = await server();
      const { prompts, onDeviceCode } = approve(auth);
      const { manager } = await loggedIn(auth, { onDeviceCode });
      const client = driver.create({ manager });
      auth.revokeAll();
      const res = ok(await client.send({ method: 'GET', url: `${auth.url}/api/data` }));
      expect(res.status).toBe(200);
      expect(prompts).toHaveLength(1);
      expect(auth.stats().grants.refresh_token).toBe(1);
      expect(auth.stats().routes.api).toBe(2);
    });

    it('5. a server that always answers 401 → exactly 2 API requests, the 401 reaches the caller, no loop', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.fault({ route: 'api', status: 401, body: '{"detail":"Invalid token"}', count: 100 });
      const outcome = await client.send({ method: 'GET', url: `${auth.url}/api/data` });
      expect(driver.isFinal401(outcome)).toBe(true);
      expect(auth.stats().routes.api).toBe(2);
      expect(auth.stats().grants.refresh_token).toBe(1);
    });

    it('5b. with HTTP errors resolved, not thrown, a 401 is still recovered', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth);
      const client = driver.create({ manager }, undefined, true);
      auth.revokeAll({ keepRefresh: true });
      const outcome = ok(await client.send({ method: 'GET', url: `${auth.url}/api/data` }));
      expect(outcome.status).toBe(200);
      expect(auth.stats().grants.refresh_token).toBe(1);
      auth.fault({ route: 'api', status: 401, body: '{"detail":"Invalid token"}', count: 100 });
      const twice = ok(await client.send({ method: 'GET', url: `${auth.url}/api/again` }));
      expect(twice.status).toBe(401);
      expect(auth.stats().grants.refresh_token).toBe(2);
    });

    it('5c. a 401 from another origin reached through a redirect → no refresh; the origin reported once', async () => {
      const auth = await server();
      const foreign = await server();
      const { manager } = await loggedIn(auth);
      const reports: Array<{ origin: string }> = [];
      manager.on('unservedOrigin', (event) => reports.push(event));
      const client = driver.create({ manager });
      const to = encodeURIComponent(`${foreign.url}/api/elsewhere`);
      for (let i = 0; i < 5; i++) {
        const outcome = await client.send({
          method: 'GET',
          url: `${auth.url}/redirect?to=${to}&status=302`,
        });
        expect(driver.isFinal401(outcome)).toBe(true);
      }
      expect(foreign.stats().routes.api).toBe(5);
      expect(auth.stats().routes.token).toBe(0);
      expect(reports.map((r) => r.origin)).toEqual([foreign.url]);
    });

    it('5d. no refresh token, and no bearer kept by the adapter, shows in logged errors or objects', async () => {
      const auth = await server();
      const { manager, token } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.fault({ route: 'api', status: 401, body: '{"detail":"Invalid token"}', count: 100 });
      const outcome = await client.send({ method: 'GET', url: `${auth.url}/api/data` });
      expect(driver.isFinal401(outcome)).toBe(true);
      const recovered = await manager.getToken();
      const shown = [
        inspect(manager, { depth: 10 }),
        JSON.stringify(manager),
        inspect(outcome, { depth: 10 }),
        safeJson(outcome),
      ].join('\n');
      for (const secret of [token.refresh_token, recovered.refresh_token]) {
        expect(shown).not.toContain(secret);
      }
      expect(inspect(manager, { depth: 10 })).not.toContain(recovered.access_token);
      // The adapters keep what they attached outside the request's config and context.
      expect(shown).not.toMatch(/\b_?oidcAuth\b/);
    });

    it('5e. an error that passes through the adapter shows neither the old nor the new access token', async () => {
      const auth = await server();
      const { manager, token } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.fault({ route: 'api', status: 401, body: '{"detail":"Invalid token"}', count: 2 });
      const outcome = await client.send({ method: 'GET', url: `${auth.url}/api/data` });
      expect(driver.isFinal401(outcome)).toBe(true);
      const recovered = await manager.getToken();
      const shown = `${inspect(outcome, { depth: 12 })}\n${safeJson(outcome)}`;
      for (const secret of [token.access_token, recovered.access_token]) {
        expect(shown).not.toContain(secret);
      }
      // The next request (a retry re-using the config, for axios) carries the token again.
      expect(ok(await client.send({ method: 'GET', url: `${auth.url}/api/data` })).status).toBe(
        200,
      );
      expect(authHeaders(auth, '/api/data')[headerDigest(`Bearer ${recovered.access_token}`)]).toBe(
        2,
      );
    });

    it('5f. a 401 after a redirect within the allowed origin → 1 refresh, re-sent once, 200', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.revokeAll({ keepRefresh: true });
      const to = encodeURIComponent(`${auth.url}/api/target`);
      const res = ok(
        await client.send({ method: 'GET', url: `${auth.url}/redirect?to=${to}&status=302` }),
      );
      expect(res.status).toBe(200);
      expect(auth.stats().grants.refresh_token).toBe(1);
      expect(auth.stats().paths['/api/target']?.calls).toBe(2);
    });

    it('6a. 403 insufficient_scope → no refresh, no retry', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth);
      const client = driver.create({ manager });
      const outcome = await client.send({ method: 'GET', url: `${auth.url}/api/admin` });
      expect('error' in outcome || outcome.status === 403).toBe(true);
      expect(auth.stats().routes.api).toBe(1);
      expect(auth.stats().routes.token).toBe(0);
    });

    it('6b. a 401 from an origin not in origins → untouched, and said once per origin (event, channel)', async () => {
      const auth = await server();
      const foreign = await server();
      const { manager } = await loggedIn(auth);
      const reports: Array<{ origin: string; served: string[]; hint: string }> = [];
      manager.on('unservedOrigin', (event) => reports.push(event));
      const client = driver.create({ manager });
      for (let i = 0; i < 2; i++) {
        const outcome = await client.send({ method: 'GET', url: `${foreign.url}/api/data` });
        expect(driver.isFinal401(outcome)).toBe(true);
      }
      expect(foreign.stats().routes.api).toBe(2);
      expect(authHeaders(foreign, '/api/data')).toEqual({});
      expect(auth.stats().routes.token).toBe(0);
      // The user learns why no token went there: once, naming both origins and the fix.
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ origin: foreign.url, served: [auth.url] });
      expect(reports[0]?.hint).toContain(`the token goes only to ${auth.url}`);
      expect(reports[0]?.hint).toMatch(/add it to the adapter's origins/);
    });

    it('7a. 100 concurrent requests all answered 401 → 1 refresh, 100 successes', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.revokeAll({ keepRefresh: true });
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          client.send({ method: 'GET', url: `${auth.url}/api/data` }),
        ),
      );
      expect(results.map((r) => ok(r).status)).toEqual(Array(100).fill(200));
      expect(auth.stats().grants.refresh_token).toBe(1);
      expect(auth.stats().routes.api).toBe(200);
    });

    it('7b. a late 401 carrying an already-replaced token → re-sent with the current token, no second refresh', async () => {
      const auth = await server();
      const { manager, token } = await loggedIn(auth);
      const client = driver.create({ manager });
      auth.fault({ route: 'api', status: 401, body: '{"detail":"Invalid token"}', delayMs: 300 });
      const late = client.send({ method: 'GET', url: `${auth.url}/api/late` });
      await vi.waitFor(() => expect(auth.stats().routes.api).toBe(1));
      auth.revokeAll({ keepRefresh: true });
      expect(ok(await client.send({ method: 'GET', url: `${auth.url}/api/early` })).status).toBe(
        200,
      );
      expect(auth.stats().grants.refresh_token).toBe(1);
      expect(ok(await late).status).toBe(200);
      expect(auth.stats().grants.refresh_token).toBe(1);
      const lateHeaders = Object.keys(authHeaders(auth, '/api/late'));
      expect(lateHeaders).toHaveLength(2);
      expect(lateHeaders).toContain(headerDigest(`Bearer ${token.access_token}`));
    });

    describe('8. the token never reaches another origin', () => {
      it('absolute URLs to another port or host', async () => {
        const auth = await server();
        const otherPort = await server();
        const otherHost = await server({ host: '127.0.0.2' });
        const { manager } = await loggedIn(auth);
        const client = driver.create({ manager });
        await client.send({ method: 'GET', url: `${otherPort.url}/leak` });
        await client.send({ method: 'GET', url: `${otherHost.url}/leak` });
        expect(otherPort.stats().paths['/leak']?.calls).toBe(1);
        expect(otherHost.stats().paths['/leak']?.calls).toBe(1);
        expect(authHeaders(otherPort, '/leak')).toEqual({});
        expect(authHeaders(otherHost, '/leak')).toEqual({});
      });

      it('protocol-relative //host URLs and absolute URLs against a base URL', async () => {
        const auth = await server();
        const foreign = await server();
        const { manager } = await loggedIn(auth);
        const client = driver.create({ manager }, `${auth.url}/api/`);
        const hostPort = foreign.url.replace(/^http:/, '');
        await client.send({ method: 'GET', url: `${hostPort}/leak-relative` });
        await client.send({ method: 'GET', url: `${foreign.url}/leak-absolute` });
        expect(authHeaders(foreign, '/leak-relative')).toEqual({});
        expect(authHeaders(foreign, '/leak-absolute')).toEqual({});
        const ownOutcome = ok(await client.send({ method: 'GET', url: 'own' }));
        expect(ownOutcome.json.path).toBe('/api/own');
      });

      for (const status of [301, 302, 303, 307, 308]) {
        it(`a ${status} redirect to another origin`, async () => {
          const auth = await server();
          const foreign = await server();
          const { manager, token } = await loggedIn(auth);
          const client = driver.create({ manager });
          const to = encodeURIComponent(`${foreign.url}/leak`);
          await client.send({
            method: 'GET',
            url: `${auth.url}/redirect?to=${to}&status=${status}`,
          });
          expect(authHeaders(auth, '/redirect')).toEqual({
            [headerDigest(`Bearer ${token.access_token}`)]: 1,
          });
          expect(foreign.stats().paths['/leak']?.calls).toBe(1);
          expect(authHeaders(foreign, '/leak')).toEqual({});
        });
      }

      it('a redirect within the allowed origin keeps the token', async () => {
        const auth = await server();
        const { manager, token } = await loggedIn(auth);
        const client = driver.create({ manager });
        const to = encodeURIComponent(`${auth.url}/api/target`);
        const res = ok(
          await client.send({ method: 'GET', url: `${auth.url}/redirect?to=${to}&status=302` }),
        );
        expect(res.status).toBe(200);
        expect(authHeaders(auth, '/api/target')).toEqual({
          [headerDigest(`Bearer ${token.access_token}`)]: 1,
        });
      });

      it('origins may list more origins, as strings, RegExps or predicates', async () => {
        const auth = await server();
        const api1 = await server();
        const api2 = await server();
        const api3 = await server();
        const { manager, token } = await loggedIn(auth);
        const port3 = new URL(api3.url).port;
        const client = driver.create({
          manager,
          origins: [
            api1.url,
            new RegExp(`:${new URL(api2.url).port}$`),
            (url) => url.port === port3,
          ],
        });
        for (const s of [api1, api2, api3, auth])
          await client.send({ method: 'GET', url: `${s.url}/api/x` });
        // Those servers do not know the token (401, then one recovery); what matters is who saw it.
        for (const s of [api1, api2, api3]) {
          const seen = Object.keys(authHeaders(s, '/api/x'));
          expect(seen.length).toBeGreaterThan(0);
          for (const header of seen) expect(header).toMatch(/^sha256:[0-9a-f]{16}$/);
        }
        expect(Object.keys(authHeaders(api1, '/api/x'))).toContain(
          headerDigest(`Bearer ${token.access_token}`),
        );
        expect(authHeaders(auth, '/api/x')).toEqual({});
      });
    });

    it('9. aborting one request cancels its wait for a refresh, and nothing else', async () => {
      const auth = await server();
      const { manager } = await loggedIn(auth, { expiresIn: 5 });
      const client = driver.create({ manager });
      auth.fault({ route: 'token', delayMs: 400 });
      const controller = new AbortController();
      const aborted = client.send({
        method: 'GET',
        url: `${auth.url}/api/a`,
        signal: controller.signal,
      });
      const other = client.send({ method: 'GET', url: `${auth.url}/api/b` });
      controller.abort();
      const abortedOutcome = await aborted;
      expect('error' in abortedOutcome).toBe(true);
      expect(ok(await other).status).toBe(200);
      expect(auth.stats().paths['/api/a']).toBeUndefined();
      expect(auth.stats().grants.refresh_token).toBe(1);
    });

    it('9b. DPoP: an API demanding nonces and a token endpoint without them, on one origin → the API nonce never reaches a refresh', async () => {
      // RFC 9449 §8–9: each server's nonce is used only with that server.
      const payload = (proof: string | undefined) =>
        JSON.parse(Buffer.from((proof ?? '').split('.')[1] ?? '', 'base64url').toString()) as {
          nonce?: string;
        };
      const tokenNonces: (string | undefined)[] = [];
      const revoked = new Set<string>();
      let issued = 0;
      let apiCalls = 0;
      const { url: origin, close } = await listenLoopback(async (req, res) => {
        let body = '';
        for await (const chunk of req) body += chunk;
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(value));
        };
        const proof = req.headers.dpop as string | undefined;
        if (path === '/.well-known/openid-configuration') {
          return json(200, { issuer: origin, token_endpoint: `${origin}/token` });
        }
        if (path === '/token') {
          const { nonce } = payload(proof);
          tokenNonces.push(nonce);
          // This token endpoint supports no nonces: a proof carrying one is refused.
          if (nonce !== undefined || !new URLSearchParams(body).get('refresh_token')) {
            return json(400, { error: 'invalid_dpop_proof' });
          }
          issued++;
          return json(200, {
            access_token: `at-${issued}`,
            refresh_token: `rt-${issued}`,
            token_type: 'DPoP',
            expires_in: 300,
          });
        }
        apiCalls++;
        const token = String(req.headers.authorization ?? '').replace(/^DPoP /, '');
        if (payload(proof).nonce !== 'api-nonce') {
          return json(
            401,
            { detail: 'nonce' },
            {
              'www-authenticate': 'DPoP error="use_dpop_nonce"',
              'dpop-nonce': 'api-nonce',
            },
          );
        }
        if (revoked.has(token)) {
          return json(
            401,
            { detail: 'Invalid token' },
            {
              'www-authenticate': 'DPoP error="invalid_token"',
            },
          );
        }
        return json(200, { token });
      });
      cleanupsOidc.push(close);
      const store = new MemoryTokenStore();
      const manager = new TokenManager({
        issuer: origin,
        clientId: 'contract',
        dpop: true,
        store,
        interactive: false,
        verifyIdToken: false,
      });
      managers.push(manager);
      const now = Math.floor(Date.now() / 1000);
      await store.put(manager.host, {
        ...parseTokenJson(
          { access_token: 'at-0', refresh_token: 'rt-0', token_type: 'DPoP', expires_in: 300 },
          now,
        ),
        dpop_key: (await DpopKey.generate()).jwk,
      });
      const client = driver.create({ manager });
      // The API's nonce: one challenge, one re-send with it.
      expect(ok(await client.send({ method: 'GET', url: `${origin}/api/data` })).json).toEqual({
        token: 'at-0',
      });
      // The token is revoked: one refresh at the token endpoint on the same origin, without the
      // API's nonce, then the re-send.
      revoked.add('at-0');
      expect(ok(await client.send({ method: 'GET', url: `${origin}/api/data` })).json).toEqual({
        token: 'at-1',
      });
      expect(tokenNonces).toEqual([undefined]);
      expect(apiCalls).toBe(4);
    });

    describe('10. core errors reach the caller as AuthError', () => {
      it('login required', async () => {
        const auth = await server();
        const manager = new TokenManager({
          host: auth.url,
          store: new MemoryTokenStore(),
          interactive: false,
        });
        managers.push(manager);
        const outcome = await driver
          .create({ manager })
          .send({ method: 'GET', url: `${auth.url}/api/x` });
        const error = driver.authErrorOf(outcome);
        expect(isAuthError(error)).toBe(true);
        expect(error?.code).toBe(ErrorCode.LOGIN_REQUIRED);
        expect(auth.stats().routes.api).toBe(0);
      });

      it('server unavailable during a 401 recovery', async () => {
        const auth = await server();
        const { manager } = await loggedIn(auth);
        const client = driver.create({ manager });
        auth.revokeAll({ keepRefresh: true });
        auth.fault({ route: 'token', status: 502, count: 10 });
        const error = driver.authErrorOf(
          await client.send({ method: 'GET', url: `${auth.url}/api/x` }),
        );
        expect(error?.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
        expect(auth.stats().routes.api).toBe(1);
      });
    });
  });
}
export * from './leak-matrix.js';
