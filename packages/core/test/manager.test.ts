import { delegateStore } from '@oidc-auth/test-support/delegate-store';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  isAuthError,
  MemoryTokenStore,
  type StoreEvent,
  type TokenManagerEvents,
  type TokenStore,
} from '../src/index.js';
import {
  approver,
  asToken,
  fastRetry,
  manager,
  mock,
  rejection,
  seededStore,
  virtualTime,
} from './helpers.js';

describe('strategy', () => {
  it('uses a stored token with ≥ 60 s left without any network call', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server);
    const m = manager(server, { store });
    expect(await m.getToken()).toEqual(token);
    expect(await m.authorization()).toBe(`Bearer ${token.access_token}`);
    expect(server.stats().routes.token).toBe(0);
  });

  it('refreshes a token that expires within the margin, and stores the new one', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: -30 });
    const m = manager(server, { store });
    const events: TokenManagerEvents['refresh'][] = [];
    m.on('refresh', (e) => events.push(e));
    const fresh = await m.getToken();
    expect(fresh.access_token).not.toBe(token.access_token);
    expect(fresh.refresh_token).not.toBe(token.refresh_token);
    expect(server.stats().grants.refresh_token).toBe(1);
    expect((await store.get(m.host))?.token).toEqual(fresh);
    expect(events).toEqual([{ host: m.host, expires: fresh.expires }]);
  });

  it('does not refresh a short-lived token on every call', async () => {
    const server = await mock({ accessTtl: 30 });
    const store = new MemoryTokenStore();
    await store.put(server.url, asToken(server.issueToken()));
    const m = manager(server, { store });
    for (let i = 0; i < 5; i++) await m.getToken();
    expect(server.stats().grants.refresh_token).toBe(0);
  });

  it('runs the device flow when the refresh is refused and a login is allowed', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.revokeAll();
    const { prompts, onDeviceCode } = approver(server);
    const m = manager(server, { store, onDeviceCode });
    const deviceEvents: unknown[] = [];
    m.on('deviceCode', (e) => deviceEvents.push(e));
    const token = await m.getToken();
    expect(prompts).toHaveLength(1);
    expect(deviceEvents).toHaveLength(1);
    expect(server.stats().grants.refresh_token).toBe(1);
    expect((await fetch(`${server.url}/api/x`, { headers: token.headers })).status).toBe(200);
    expect((await store.get(m.host))?.token.access_token).toBe(token.access_token);
  });

  it('fails fast with OIDC_LOGIN_REQUIRED naming the command when no login is possible', async () => {
    const server = await mock();
    const m = manager(server);
    const required: TokenManagerEvents['loginRequired'][] = [];
    m.on('loginRequired', (e) => required.push(e));
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
    // The form that works where the CLI is installed in the project (not on PATH).
    expect(error.message).toContain(`\`npx --no -- oidc-auth login ${server.url}\``);
    expect(required).toEqual([
      {
        host: server.url,
        reason: 'interactive login is switched off',
        command: `oidc-auth login ${server.url}`,
      },
    ]);
    expect(server.stats().routes.device).toBe(0);
  });

  it('refuses a login in a batch job even with a terminal, naming the variable', async () => {
    const server = await mock();
    process.env.SLURM_JOB_ID = '42';
    try {
      const m = manager(server, { interactive: undefined });
      const error = await rejection(m.getToken());
      expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
      expect(error.message).toContain('SLURM_JOB_ID');
    } finally {
      delete process.env.SLURM_JOB_ID;
    }
    expect(server.stats().routes.device).toBe(0);
  });

  it('lets onDeviceCode allow a login in a non-interactive session', async () => {
    const server = await mock();
    const { onDeviceCode } = approver(server);
    const m = manager(server, { onDeviceCode });
    expect((await m.getToken()).access_token).toMatch(/^at_/);
  });

  it('retries transient refresh failures and never turns them into a device flow', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 503, count: 2 });
    const m = manager(server, { store, onDeviceCode: () => {} });
    expect((await m.getToken()).access_token).toMatch(/^at_/);
    expect(server.stats().routes.token).toBe(3);
    expect(server.stats().routes.device).toBe(0);
  });

  it('ends as OIDC_SERVER_UNAVAILABLE with the cause once the budget is spent', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 502, count: 10 });
    const m = manager(server, { store, onDeviceCode: () => {} });
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/3 attempts/);
    expect(isAuthError(error.cause)).toBe(true);
    expect(server.stats().routes.token).toBe(1 + fastRetry.retries);
    expect(server.stats().routes.device).toBe(0);
    // Nothing lost: the stored refresh token is still there.
    expect((await store.get(m.host))?.token.refresh_token).toBe(token.refresh_token);
  });

  it('retries reset connections', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', reset: true, count: 2 });
    const m = manager(server, { store });
    expect((await m.getToken()).access_token).toMatch(/^at_/);
  });

  it('honours Retry-After on 429', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 429, headers: { 'retry-after': '1' } });
    const time = virtualTime();
    const m = manager(server, { store, sleep: time.sleep });
    await m.getToken();
    expect(time.waits).toEqual([1000]);
    expect(server.stats().routes.token).toBe(2);
  });

  it('waits Retry-After once, instead of the backoff, not on top of it', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 503, headers: { 'retry-after': '2' }, count: 2 });
    const time = virtualTime();
    // A backoff of a minute: were it waited besides Retry-After, this test would time out.
    const retry = { retries: 3, minTimeout: 60_000, maxTimeout: 60_000 };
    const m = manager(server, { store, sleep: time.sleep, retry });
    await m.getToken();
    expect(time.waits).toEqual([2000, 2000]);
    expect(server.stats().routes.token).toBe(3);
  });

  it('gives up at once when Retry-After is longer than maxRetryAfter', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 429, headers: { 'retry-after': '3600' } });
    const m = manager(server, { store, retry: { ...fastRetry, maxRetryAfter: 5 } });
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.status).toBe(429);
    expect(server.stats().routes.token).toBe(1);
  });

  it('times out a hanging token endpoint and retries', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', delayMs: 5_000 });
    const m = manager(server, { store, requestTimeout: 200 });
    expect((await m.getToken()).access_token).toMatch(/^at_/);
    expect(server.stats().routes.token).toBe(2);
  });

  it('keeps the old refresh token when the refresh answer has none', async () => {
    const server = await mock({ omitRefreshTokenOnRefresh: true, rotation: false });
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, { store });
    const fresh = await m.getToken();
    expect(fresh.refresh_token).toBe(token.refresh_token);
    expect(fresh.refresh_expires).toBe(token.refresh_expires);
    expect((await store.get(m.host))?.token.refresh_token).toBe(token.refresh_token);
  });

  it('login() runs a new device flow even with a valid token', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server);
    const { onDeviceCode, prompts } = approver(server);
    const m = manager(server, { store, onDeviceCode });
    const fresh = await m.login();
    expect(fresh.access_token).not.toBe(token.access_token);
    expect(prompts).toHaveLength(1);
  });

  it('login() arriving during a refresh still runs a new login', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const { onDeviceCode, prompts } = approver(server);
    // The refresh request is held at the transport until the login() call has been made.
    let refreshSeen!: () => void;
    const refreshing = new Promise<void>((resolve) => (refreshSeen = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const m = manager(server, {
      store,
      onDeviceCode,
      fetch: async (input, init) => {
        if (String(init?.body ?? '').includes('refresh-token')) {
          refreshSeen();
          await gate;
        }
        return fetch(input, init);
      },
    });
    const refreshed = m.getToken();
    await refreshing;
    const loggedIn = m.login();
    release();
    const [viaRefresh, viaLogin] = await Promise.all([refreshed, loggedIn]);
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(prompts).toHaveLength(1);
    expect(viaLogin.access_token).not.toBe(viaRefresh.access_token);
    expect(await m.authorization()).toBe(`Bearer ${viaLogin.access_token}`);
  });

  it('invalidate() makes the next call refresh', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server);
    const m = manager(server, { store });
    await m.getToken();
    m.invalidate();
    expect((await m.getToken()).access_token).not.toBe(token.access_token);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('rejects calls after close() with OIDC_CLOSED, and pending ones too', async () => {
    const server = await mock();
    const m = manager(server, { onDeviceCode: () => {} });
    const pending = m.getToken();
    await new Promise((resolve) => setImmediate(resolve));
    m.close();
    expect((await rejection(pending)).code).toBe(ErrorCode.CLOSED);
    expect((await rejection(m.getToken())).code).toBe(ErrorCode.CLOSED);
  });

  it('an aborted caller stops waiting; the shared refresh still completes for others', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', delayMs: 300 });
    const m = manager(server, { store });
    const controller = new AbortController();
    const aborted = m.getToken({ signal: controller.signal });
    const other = m.getToken();
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect((await other).access_token).toMatch(/^at_/);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('emits token events without secrets', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, { store });
    const events: unknown[] = [];
    m.on('token', (e) => events.push(e));
    const token = await m.getToken();
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({
      host: server.url,
      source: 'refresh',
      expires: token.expires,
      scope: token.scope,
    });
    expect(JSON.stringify(events)).not.toContain(token.access_token);
  });

  it('core never uses AsyncLocalStorage, which would tax every promise of the host process', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const root = new URL('../src/', import.meta.url);
    const files = await readdir(root, { recursive: true });
    const sources = files.filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(10);
    for (const file of sources) {
      const text = await readFile(new URL(file, root), 'utf8');
      expect(text, file).not.toMatch(/from 'node:async_hooks'|new AsyncLocalStorage/);
    }
  });

  it('reads the store once at start, not on the request path', async () => {
    const server = await mock();
    const inner = new MemoryTokenStore();
    await inner.put(server.url, asToken(server.issueToken()));
    let reads = 0;
    const store = Object.assign(Object.create(inner) as MemoryTokenStore, {
      get: (host: string) => {
        reads++;
        return inner.get(host);
      },
    });
    let fetches = 0;
    const m = manager(server, {
      store,
      fetch: (...args) => {
        fetches++;
        return fetch(...args);
      },
    });
    for (let i = 0; i < 1000; i++) await m.authorization();
    expect(reads).toBe(1);
    expect(fetches).toBe(0);
  });

  describe('a store that pushes changes (a store shared by a fleet)', () => {
    /** A memory store with a subscribe() the test drives, as Redis pub/sub would. */
    function pushing(inner: TokenStore) {
      const listeners = new Set<(event: StoreEvent) => void>();
      let reads = 0;
      const store = delegateStore(inner, {
        get: (host) => {
          reads++;
          return inner.get(host);
        },
        subscribe: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      });
      const push = (event: StoreEvent) => {
        for (const listener of listeners) listener(event);
      };
      return { store, push, listeners, reads: () => reads };
    }

    it('adopts the token another process stored, without a request', async () => {
      const server = await mock();
      const inner = new MemoryTokenStore();
      await inner.put(server.url, asToken(server.issueToken()));
      const { store, push } = pushing(inner);
      const m = manager(server, { store });
      await m.getToken();
      const adopted = new Promise<TokenManagerEvents['token']>((resolve) => m.on('token', resolve));
      const newer = asToken(server.issueToken());
      await inner.put(server.url, newer);
      push({ type: 'changed', host: server.url });
      expect(await adopted).toMatchObject({ source: 'other-process', host: server.url });
      expect(await m.authorization()).toBe(`Bearer ${newer.access_token}`);
      expect(server.stats().grants.refresh_token).toBe(0);
    });

    it('takes the entry a notice carries, without reading the store', async () => {
      const server = await mock();
      const inner = new MemoryTokenStore();
      await inner.put(server.url, asToken(server.issueToken()));
      const { store, push, reads } = pushing(inner);
      const m = manager(server, { store });
      await m.getToken();
      expect(reads()).toBe(1);
      const adopted = new Promise<TokenManagerEvents['token']>((resolve) => m.on('token', resolve));
      const newer = asToken(server.issueToken());
      const entry = { token: newer, stored_at: Date.now() / 1000 };
      push({ type: 'changed', host: server.url, entry: () => structuredClone(entry) });
      expect(await adopted).toMatchObject({ source: 'other-process', host: server.url });
      expect(await m.authorization()).toBe(`Bearer ${newer.access_token}`);
      expect(reads()).toBe(1);
      expect(server.stats().grants.refresh_token).toBe(0);
    });

    it('ignores changes of other hosts and anything before the first use; a removal (a logout elsewhere) drops the token held', async () => {
      const server = await mock();
      const inner = new MemoryTokenStore();
      const first = asToken(server.issueToken());
      await inner.put(server.url, first);
      const { store, push, reads } = pushing(inner);
      const m = manager(server, { store });
      push({ type: 'changed', host: server.url }); // not loaded yet: nothing to replace
      expect(reads()).toBe(0);
      await m.getToken();
      push({ type: 'changed', host: 'https://other.example.org' });
      expect(reads()).toBe(1);
      const dropped = new Promise((resolve) => m.on('logout', resolve));
      await inner.remove(server.url);
      push({ type: 'changed', host: server.url });
      // The read finds nothing: the entry was removed on purpose (a logout, `oidc-auth remove`),
      // and no request here may carry its token after that.
      expect(await dropped).toEqual({ host: server.url, source: 'other-process' });
      expect(m.health().state).not.toBe('valid');
    });

    it('unsubscribes on close()', async () => {
      const server = await mock();
      const { store, listeners } = pushing(new MemoryTokenStore());
      const m = manager(server, { store });
      expect(listeners.size).toBe(1);
      m.close();
      expect(listeners.size).toBe(0);
    });
  });
});
