import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { pushingStore } from '@oidc-auth/test-support/delegate-store';
import { clientId, exchangeAudiences } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  diagnosticsChannels,
  ErrorCode,
  MemoryTokenStore,
  type Token,
  TokenManager,
  type TokenStore,
} from '../src/index.js';
import {
  approver,
  asToken,
  defer,
  manager,
  mock,
  noWait,
  oidcManager,
  rejection,
  seededStore,
} from './helpers.js';

const clientSecret = 'cs-Echo/Secret+with=signs%41';

type Seen = { channel: string; event: string; message: Record<string, unknown> };

/** Subscribes to every channel core publishes on, until the test ends. */
function record(): Seen[] {
  const seen: Seen[] = [];
  const { storeError, tokenAdopted, unservedOrigin, ...tracing } = diagnosticsChannels;
  for (const name of Object.values(tracing)) {
    const handlers = Object.fromEntries(
      ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => [
        event,
        (message: unknown) =>
          seen.push({ channel: name, event, message: { ...(message as object) } }),
      ]),
    );
    const channel = tracingChannel(name);
    channel.subscribe(handlers as never);
    defer(() => channel.unsubscribe(handlers as never));
  }
  for (const name of [storeError, tokenAdopted, unservedOrigin]) {
    const handler = (message: unknown) =>
      seen.push({ channel: name, event: 'publish', message: { ...(message as object) } });
    subscribe(name, handler);
    defer(() => void unsubscribe(name, handler));
  }
  return seen;
}

const ends = (seen: Seen[], channel: string) =>
  seen.filter((s) => s.channel === channel && s.event === 'asyncEnd').map((s) => s.message);

/** No token, refresh token or key anywhere in what subscribers saw. */
function expectNoSecrets(seen: Seen[], tokens: Token[]): void {
  const text = JSON.stringify(seen.map(({ message: { error: _e, ...rest } }) => rest));
  for (const token of tokens) {
    expect(text).not.toContain(token.access_token);
    if (token.refresh_token) expect(text).not.toContain(token.refresh_token);
  }
}

describe('diagnostics channels', () => {
  it('unserved-origin: a 401 from an API the adapter sends no token to, once per origin', async () => {
    const auth = await mock();
    const api = await mock();
    const { store } = await seededStore(auth);
    const seen = record();
    const { createAdapterKit } = await import('../src/index.js');
    const kit = createAdapterKit({ host: auth.url, store, sleep: noWait });
    defer(() => kit.manager.close());
    for (let i = 0; i < 3; i++) {
      expect((await kit.pass(fetch, `${api.url}/api/data`)).status).toBe(401);
    }
    const reports = seen.filter((s) => s.channel === diagnosticsChannels.unservedOrigin);
    expect(reports.map((s) => s.message)).toEqual([
      expect.objectContaining({ host: auth.url, origin: api.url, served: [auth.url] }),
    ]);
  });

  it('a refresh: refresh, store-lock and token-request spans with host, grant, status and outcome', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 5 });
    const seen = record();
    const m = manager(server, { store });
    const fresh = await m.getToken();
    expect(ends(seen, diagnosticsChannels.refresh)).toEqual([
      expect.objectContaining({ host: server.url, grant: 'refresh_token', outcome: 'success' }),
    ]);
    expect(ends(seen, diagnosticsChannels.storeLock)).toEqual([
      expect.objectContaining({ host: server.url, outcome: 'success' }),
    ]);
    expect(ends(seen, diagnosticsChannels.tokenRequest)).toEqual([
      expect.objectContaining({
        host: server.url,
        grant: 'refresh_token',
        status: 200,
        outcome: 'success',
        attempts: 1,
      }),
    ]);
    // Every span that started also ended, in order.
    for (const name of [diagnosticsChannels.refresh, diagnosticsChannels.tokenRequest]) {
      expect(seen.filter((s) => s.channel === name).map((s) => s.event)).toEqual([
        'start',
        'end',
        'asyncStart',
        'asyncEnd',
      ]);
    }
    expectNoSecrets(seen, [token, fresh]);
  });

  it('a refused refresh, then no login possible: refused, invalid_grant with its status, login-required', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 5 });
    server.revokeAll();
    const seen = record();
    const m = manager(server, { store });
    await expect(m.getToken()).rejects.toMatchObject({ code: ErrorCode.LOGIN_REQUIRED });
    expect(ends(seen, diagnosticsChannels.refresh)).toEqual([
      expect.objectContaining({ outcome: 'refused' }),
    ]);
    const failed = seen.find(
      (s) => s.channel === diagnosticsChannels.tokenRequest && s.event === 'error',
    )?.message;
    expect(failed).toMatchObject({
      grant: 'refresh_token',
      outcome: 'error',
      oauthError: 'invalid_grant',
    });
    expect(failed?.status).toBeGreaterThanOrEqual(400);
    expect(failed?.error).toBeInstanceOf(AuthError);
    const login = seen.filter((s) => s.channel === diagnosticsChannels.login);
    expect(login.map((s) => s.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(login.at(-1)?.message).toMatchObject({ outcome: 'login-required', sessionEnded: true });
    expectNoSecrets(seen, [token]);
  });

  it('a device login and a 401 recovery: login (device_code) and recover (renewed, then replaced)', async () => {
    const server = await mock({ autoApprove: 0 });
    const seen = record();
    const m = manager(server, { onDeviceCode: approver(server).onDeviceCode });
    const first = await m.getToken();
    expect(ends(seen, diagnosticsChannels.login)).toEqual([
      expect.objectContaining({ host: server.url, grant: 'device_code', outcome: 'success' }),
    ]);
    const requests = ends(seen, diagnosticsChannels.tokenRequest).map((m) => m.what);
    expect(requests).toContain('device authorization');
    const renewed = await m.recover(first.access_token);
    await m.recover(first.access_token);
    expect(ends(seen, diagnosticsChannels.recover).map((m) => m.outcome)).toEqual([
      'renewed',
      'replaced',
    ]);
    expectNoSecrets(seen, [first, renewed]);
  });

  it('a token exchange: the exchange span names the audience, never a token', async () => {
    const { op, manager: m } = await oidcManager();
    const user = await m.getToken();
    const seen = record();
    const exchanged = await m.exchange({ audience: exchangeAudiences[0] as string });
    expect(ends(seen, diagnosticsChannels.exchange)).toEqual([
      expect.objectContaining({
        host: op.issuer,
        client: clientId,
        audience: exchangeAudiences[0],
        grant: 'urn:ietf:params:oauth:grant-type:token-exchange',
        outcome: 'success',
      }),
    ]);
    expectNoSecrets(seen, [user, exchanged]);
  });

  it('token-adopted when another process stores a token; store-error when the store fails', async () => {
    const server = await mock();
    const inner = new MemoryTokenStore();
    const { store, control } = pushingStore(inner);
    await inner.put(server.url, asToken(server.issueToken()));
    const seen = record();
    const m = manager(server, { store, onDeviceCode: approver(server).onDeviceCode });
    await m.getToken();
    const other = asToken(server.issueToken());
    await inner.put(server.url, other);
    control.announce({ type: 'changed', host: server.url });
    await expect
      .poll(() => seen.filter((s) => s.channel === diagnosticsChannels.tokenAdopted))
      .toHaveLength(1);
    expect(seen.find((s) => s.channel === diagnosticsChannels.tokenAdopted)?.message).toEqual({
      host: server.url,
      source: 'other-process',
      expires: other.expires,
    });
    control.failing = true;
    await m.login();
    expect(
      seen.filter((s) => s.channel === diagnosticsChannels.storeError).map((s) => s.message),
    ).toEqual([
      {
        host: server.url,
        code: ErrorCode.STORE_ERROR,
        message: 'The new token could not be saved.',
      },
    ]);
    expectNoSecrets(seen, [other]);
  });

  for (const field of ['error', 'error_description', 'detail', 'header'] as const) {
    it(`a provider that echoes every secret it receives in \`${field}\`: no channel field, event or error carries one`, async () => {
      const provider = await startBentProvider({ clientSecret: clientSecret });
      defer(() => provider.close());
      const seen = record();
      const events: unknown[] = [];
      const options = {
        issuer: provider.issuer,
        clientId: provider.clientId,
        clientSecret,
        verifyIdToken: false,
        sleep: noWait,
        retry: { retries: 0 },
      } as const;
      const user = new TokenManager({
        ...options,
        store: new MemoryTokenStore(),
        onDeviceCode: () => undefined,
      });
      const service = new TokenManager({
        ...options,
        store: new MemoryTokenStore(),
        grant: 'client_credentials',
      });
      const late = new TokenManager({
        ...options,
        store: new MemoryTokenStore(),
        onDeviceCode: () => undefined,
      });
      for (const m of [user, service, late]) {
        defer(() => m.close());
        m.on('loginRequired', (e) => events.push(e));
        m.on('refresh', (e) => events.push(e));
        m.on('storeError', (e) => events.push(e));
      }
      const token = await user.getToken(); // a device login, then everything is echoed
      provider.set({ echo: field });
      const errors = [
        await rejection(user.exchange({ audience: 'https://other.example' })), // subject token
        await rejection(user.recover(token.access_token)), // refresh token (then a login)
        await rejection(service.getToken()), // client secret, Basic
        await rejection(late.getToken()), // device code
      ];
      expect(provider.stats.deviceCodes.length).toBeGreaterThanOrEqual(2);
      const basic = Buffer.from(`${provider.clientId}:${clientSecret}`).toString('base64');
      const secrets = [
        clientSecret,
        basic,
        token.access_token,
        token.refresh_token,
        ...provider.stats.deviceCodes,
      ];
      // What subscribers saw: every field of every message, the errors on them included.
      const shown = [
        ...seen.map((s) => inspect(s.message, { depth: 8 })),
        ...events.map((e) => inspect(e, { depth: 8 })),
        ...errors.flatMap((e) => [e.message, JSON.stringify(e), inspect(e, { depth: 8 })]),
      ].join('\n');
      expect(seen.filter((s) => s.event === 'error').length).toBeGreaterThanOrEqual(4);
      for (const secret of secrets) expect(shown).not.toContain(secret);
      // A code that is no OAuth error code is named as such, not copied.
      const codes = seen.map((s) => s.message.oauthError).filter((c) => c !== undefined);
      if (field === 'error') expect(new Set(codes)).toEqual(new Set(['unrecognised']));
    });
  }

  it('costs nothing to set up: with nobody subscribed, nothing is published and everything works', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 5 });
    const channel = tracingChannel(diagnosticsChannels.refresh);
    expect(channel.hasSubscribers).toBe(false);
    await manager(server, { store }).getToken();
    expect(server.stats().grants.refresh_token).toBe(1);
  });
});

describe('health()', () => {
  it('expired before the first call, valid with a token, refreshing while a login runs', async () => {
    const server = await mock({ autoApprove: 0 });
    const states: string[] = [];
    const m = manager(server, {
      onDeviceCode: (event) => {
        states.push(m.health().state);
        server.approve(event.userCode);
      },
    });
    expect(m.health()).toEqual({
      state: 'expired',
      expiresIn: null,
      lastRefresh: null,
      lastError: null,
    });
    const token = await m.getToken();
    expect(states).toEqual(['refreshing']);
    const health = m.health();
    expect(health.state).toBe('valid');
    expect(health.expiresIn).toBeGreaterThan(200);
    expect(health.expiresIn).toBeLessThanOrEqual(300);
    expect(JSON.stringify(health)).not.toContain(token.access_token);
  });

  it('login-required after a refused refresh, with the refresh and the error named', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 5 });
    server.revokeAll();
    const m = manager(server, { store });
    await expect(m.getToken()).rejects.toBeInstanceOf(AuthError);
    const health = m.health();
    expect(health.state).toBe('login-required');
    expect(health.lastRefresh).toEqual({ at: expect.any(Number), outcome: 'refused' });
    expect(health.lastError).toMatchObject({ code: ErrorCode.LOGIN_REQUIRED });
  });

  it('store-unavailable when the store cannot be read; valid again once it can', async () => {
    const server = await mock();
    const { store } = await seededStore(server);
    let down = true;
    const flaky: TokenStore = Object.assign(Object.create(store), {
      get: (host: string) => (down ? Promise.reject(new Error('ECONNREFUSED')) : store.get(host)),
    });
    const m = manager(server, { store: flaky });
    await expect(m.getToken()).rejects.toThrow('ECONNREFUSED');
    expect(m.health()).toMatchObject({
      state: 'store-unavailable',
      lastError: { code: ErrorCode.STORE_ERROR },
    });
    down = false;
    await m.getToken();
    expect(m.health().state).toBe('valid');
  });
});

it('the operations guide lists exactly the channels core publishes on', async () => {
  const guide = await readFile(
    new URL('../../../docs/guides/operations.md', import.meta.url),
    'utf8',
  );
  const table = guide.slice(guide.indexOf('## Channels'), guide.indexOf('## Troubleshooting'));
  const listed = [...table.matchAll(/^\| `(oidc-auth:[a-z-]+)` \| (tracing|plain) \|/gm)];
  expect(listed.map((m) => m[1]).sort()).toEqual(Object.values(diagnosticsChannels).sort());
  const plain = listed.filter((m) => m[2] === 'plain').map((m) => m[1]);
  expect(plain.sort()).toEqual(
    [
      diagnosticsChannels.storeError,
      diagnosticsChannels.tokenAdopted,
      diagnosticsChannels.unservedOrigin,
    ].sort(),
  );
});
