import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceFlow, ErrorCode, FileTokenStore, type TokenManagerEvents } from '../src/index.js';
import { fastRetry, manager, mock, noWait, rejection, seededStore, tempDir } from './helpers.js';

const oversized = JSON.stringify({ access_token: 'a', padding: 'x'.repeat(1024 * 1024 + 10) });

describe('bad token-endpoint answers', () => {
  it.each([
    ['non-JSON', 'this is not json'],
    ['HTML', '<html><body>Login</body></html>'],
    ['a JSON array', '[1,2,3]'],
    ['missing access_token', '{"token_type":"Bearer","expires":99999999999}'],
    ['non-numeric expiry', '{"access_token":"a","expires":"tomorrow"}'],
    ['an oversized body', oversized],
  ])('a 200 with %s is OIDC_BAD_RESPONSE and nothing is stored', async (_, body) => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({ route: 'token', status: 200, body });
    const m = manager(server, { store });
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toMatch(/report it to its operator/);
    expect((await store.get(m.host))?.token).toEqual(token);
    expect(server.stats().routes.token).toBe(1);
  });

  it('a redirect from the token endpoint is refused at once, never followed: the refresh token stays home', async () => {
    const server = await mock();
    const elsewhere = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    server.fault({
      route: 'token',
      status: 307,
      headers: { location: `${elsewhere.url}/api/token` },
    });
    const m = manager(server, { store });
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toMatch(/answered with a redirect \(HTTP 307\), which is never followed/);
    expect(elsewhere.stats().routes.token).toBe(0);
    expect(server.stats().routes.token).toBe(1);
    expect((await store.get(m.host))?.token).toEqual(token);
  });

  it('a 400 the server explains is OIDC_SERVER_ERROR for a device poll, with the detail', async () => {
    const server = await mock();
    const flow = new DeviceFlow({ host: server.url, retry: fastRetry, sleep: noWait });
    const code = await flow.getDeviceCode();
    server.fault({ route: 'token', status: 400, body: '{"detail":"Token creation failed."}' });
    const error = await rejection(flow.poll(code));
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.detail).toBe('Token creation failed.');
    expect(error.status).toBe(400);
  });
});

describe('bad device answers', () => {
  it.each([
    ['HTML', '<html>proxy login</html>'],
    ['no user_code', '{"device_code":"d","verification_uri":"https://x"}'],
    ['an oversized body', oversized],
  ])('a 200 with %s is OIDC_BAD_RESPONSE', async (_, body) => {
    const server = await mock();
    server.fault({ route: 'device', status: 200, body });
    const error = await rejection(new DeviceFlow({ host: server.url }).getDeviceCode());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
  });

  it('HTML 5xx answers are retried, then end as OIDC_SERVER_UNAVAILABLE', async () => {
    const server = await mock();
    server.fault({ route: 'device', status: 500, count: 10 });
    const error = await rejection(
      new DeviceFlow({ host: server.url, retry: fastRetry, sleep: noWait }).getDeviceCode(),
    );
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.detail).toMatch(/500 Error/);
    expect(server.stats().routes.device).toBe(3);
  });

  it('an unreachable server fails at once with OIDC_SERVER_UNAVAILABLE, naming the network cause', async () => {
    const server = await mock();
    const url = server.url;
    await server.close();
    const error = await rejection(new DeviceFlow({ host: url, retry: fastRetry }).getDeviceCode());
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).toMatch(/check the host name/);
  });
});

describe('corrupt store through the manager', () => {
  it('emits storeCorrupt and carries on without the lost token', async () => {
    const server = await mock();
    const dir = await tempDir();
    const path = join(dir, 'token-store.json');
    await writeFile(path, 'garbage');
    const m = manager(server, { store: new FileTokenStore({ path }) });
    const events: TokenManagerEvents['storeCorrupt'][] = [];
    m.on('storeCorrupt', (e) => events.push(e));
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(events).toEqual([
      { path, movedTo: expect.stringContaining('.corrupt-'), reason: 'it is not valid JSON' },
    ]);
  });
});
