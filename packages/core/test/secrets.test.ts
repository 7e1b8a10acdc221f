import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DeviceFlow, MemoryTokenStore, type TokenManagerEvents } from '../src/index.js';
import { approver, fastRetry, manager, mock, noWait, rejection, seededStore } from './helpers.js';

/** Every way an error can be shown: message, JSON, inspect, and the same for its causes. */
function renderings(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    out.push(
      String((current as Error).message),
      JSON.stringify(current),
      inspect(current, { depth: 5 }),
    );
    current = (current as Error).cause;
  }
  return out;
}

function expectClean(things: unknown[], secrets: string[]): void {
  for (const thing of things) {
    for (const text of renderings(thing)) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  }
}

describe('no secret in any error or event', () => {
  it('refresh failures that echo the refresh token never show it', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    const secrets = [token.access_token, token.refresh_token];
    const errors: unknown[] = [];
    const echo = `<html>bad refresh-token=${token.refresh_token} for ${token.access_token}</html>`;

    server.fault({ route: 'token', status: 502, body: echo, count: 10 });
    errors.push(await rejection(manager(server, { store }).getToken()));

    server.reset();
    server.fault({
      route: 'token',
      status: 400,
      body: JSON.stringify({
        detail: `Upstream OIDC error: {"error":"invalid_grant","error_description":"${token.refresh_token}"}`,
      }),
    });
    errors.push(await rejection(manager(server, { store }).getToken()));

    const again = await seededStore(server, { accessExpiredBy: 10 });
    secrets.push(again.token.refresh_token, 'at_NEW_CANARY', 'rt_NEW_CANARY');
    server.fault({
      route: 'token',
      status: 200,
      body: `{"access_token":"at_NEW_CANARY","refresh_token":"rt_NEW_CANARY","expires":"soon","x":"${again.token.refresh_token}"}`,
    });
    errors.push(await rejection(manager(server, { store: again.store }).getToken()));
    server.fault({ route: 'token', status: 200, body: '<html>at_NEW_CANARY rt_NEW_CANARY</html>' });
    errors.push(await rejection(manager(server, { store: again.store }).getToken()));

    expect(errors).toHaveLength(4);
    expectClean(errors, secrets);
  });

  it('device-flow failures never show the device code', async () => {
    const server = await mock();
    const flow = new DeviceFlow({ host: server.url, retry: fastRetry, sleep: noWait });
    const code = await flow.getDeviceCode();
    server.fault({
      route: 'token',
      status: 500,
      body: `device-code=${code.device_code}`,
      count: 10,
    });
    const error = await rejection(flow.poll(code));
    expectClean([error], [code.device_code]);
  });

  it('events meant for logging carry no token', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    const { onDeviceCode } = approver(server);
    const m = manager(server, { store, onDeviceCode });
    const events: unknown[] = [];
    for (const name of [
      'token',
      'refresh',
      'deviceCode',
      'loginRequired',
      'storeCorrupt',
    ] as const) {
      m.on(name, (e: TokenManagerEvents[typeof name]) => events.push(e));
    }
    const refreshed = await m.getToken();
    server.revokeAll();
    const relogged = await m.recover(refreshed.access_token);
    expect(events.length).toBeGreaterThanOrEqual(4);
    const text = events.map((e) => inspect(e, { depth: 5 })).join('\n');
    for (const t of [token, refreshed, relogged]) {
      expect(text).not.toContain(t.access_token);
      expect(text).not.toContain(t.refresh_token);
    }
  });
});

describe('a secret echoed by a server in another spelling', () => {
  it('is redacted raw, URL-encoded, form-encoded and JSON-escaped', async () => {
    const secret = 'svc-Secret!with space"and\\slash/é';
    const { listenLoopback } = await import('@oidc-auth/test-support/loopback');
    const echoed = [
      secret,
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      new URLSearchParams({ client_secret: secret }).toString(),
      JSON.stringify({ client_secret: secret }),
    ].join(' | ');
    const { url: issuer, close } = await listenLoopback((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      res.writeHead(path.endsWith('openid-configuration') ? 200 : 400, {
        'content-type': 'application/json',
      });
      res.end(
        path.endsWith('openid-configuration')
          ? JSON.stringify({
              issuer,
              token_endpoint: `${issuer}/token`,
              device_authorization_endpoint: `${issuer}/device`,
            })
          : JSON.stringify({ error: 'invalid_client', error_description: `you sent ${echoed}` }),
      );
    });
    const { TokenManager: Manager } = await import('../src/index.js');
    const m = new Manager({
      issuer,
      clientId: 'svc',
      clientSecret: secret,
      tokenEndpointAuthMethod: 'client_secret_post',
      verifyIdToken: false,
      store: new MemoryTokenStore(),
      onDeviceCode: () => undefined,
    });
    const error = await rejection(m.getToken());
    m.close();
    await close();
    const shown = [error.message, JSON.stringify(error.detail), inspect(error, { depth: 8 })].join(
      '\n',
    );
    expect(shown).toContain('invalid_client');
    expect(shown).toContain('[redacted]');
    for (const spelling of [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
    ]) {
      expect(shown).not.toContain(spelling);
    }
  });
});
