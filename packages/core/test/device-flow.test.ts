import { join } from 'node:path';
import type { MockServerOptions } from '@oidc-auth/mock-server';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  authenticate,
  type CommonOptions,
  DeviceFlow,
  ErrorCode,
  FileTokenStore,
} from '../src/index.js';
import { fastRetry, mock, noWait, rejection, tempDir, virtualTime } from './helpers.js';

/** A mock server and a flow sharing virtual time: polling intervals cost no real time. */
async function setup(options: MockServerOptions = {}, flowOptions: CommonOptions = {}) {
  const time = virtualTime();
  const server = await mock({ clock: time.clock, ...options });
  const flow = new DeviceFlow({
    host: server.url,
    clock: time.clock,
    sleep: time.sleep,
    ...flowOptions,
  });
  return { server, flow, time };
}

describe('DeviceFlow', () => {
  it('runs the seed’s manual example: getDeviceCode, then poll(device_code, interval)', async () => {
    const server = await mock();
    // The seed's example as written: real time, the 1 s polling floor.
    const flow = new DeviceFlow(server.url);
    const code = await flow.getDeviceCode();
    expect(code.uri).toBe(`${server.url}/device?user_code=${code.user_code}`);
    server.approve(code.user_code);
    const token = await flow.poll(code.device_code, code.interval);
    expect(token.headers.Authorization).toBe(`Bearer ${token.access_token}`);
    expect((await fetch(`${server.url}/api/me`, { headers: token.headers })).status).toBe(200);
    expect(server.stats().device.polls).toBe(1);
  });

  it('stores the token poll() gets, as py-oidc-auth-client does: the next authenticate() uses it', async () => {
    const server = await mock();
    const path = join(await tempDir(), 'token-store.json');
    // The README's example, with the token file named.
    const flow = new DeviceFlow({
      host: server.url,
      store: new FileTokenStore({ path }),
      sleep: noWait,
    });
    const code = await flow.getDeviceCode();
    server.approve(code.user_code);
    const token = await flow.poll(code.device_code, code.interval);
    expect((await new FileTokenStore({ path }).get(server.url))?.token).toEqual(token);
    const before = server.stats();
    const again = await authenticate({
      host: server.url,
      store: new FileTokenStore({ path }),
      interactive: false,
    });
    expect(again.access_token).toBe(token.access_token);
    expect(server.stats().grants).toEqual(before.grants);
    expect(server.stats().device.polls).toBe(before.device.polls);
  });

  it('stores nothing with storeToken: false', async () => {
    const server = await mock({ autoApprove: 0 });
    const path = join(await tempDir(), 'token-store.json');
    const store = new FileTokenStore({ path });
    const shown: string[] = [];
    const flow = new DeviceFlow({
      host: server.url,
      store,
      storeToken: false,
      sleep: noWait,
      onDeviceCode: (event) => void shown.push(event.userCode),
    });
    await flow.login();
    expect(shown).toHaveLength(1);
    expect(await store.get(server.url)).toBeUndefined();
  });

  it('keeps polling while pending and stops on approval', async () => {
    const { server, flow, time } = await setup({ autoApprove: 1 });
    const code = await flow.getDeviceCode();
    const token = await flow.poll(code);
    expect(token.access_token).toMatch(/^at_/);
    expect(server.stats().device.polls).toBe(2);
    // Each poll waited the interval (1 s) plus at most 10 % jitter.
    expect(time.waits).toHaveLength(2);
    for (const wait of time.waits) expect(wait).toBeGreaterThanOrEqual(1000);
    for (const wait of time.waits) expect(wait).toBeLessThanOrEqual(1100);
  });

  it('adds 5 s to the interval for good after slow_down', async () => {
    const { server, flow, time } = await setup({ autoApprove: 1, slowDown: 2 });
    const code = await flow.getDeviceCode();
    await flow.poll(code);
    // A poll after 1 s (slow_down), the next after 1 + 5 s (slow_down), then 1 + 10 s (done).
    expect(server.stats().device.polls).toBe(3);
    const [first = 0, second = 0, third = 0] = time.waits;
    expect(first).toBeGreaterThanOrEqual(1000);
    expect(first).toBeLessThanOrEqual(1100);
    expect(second).toBeGreaterThanOrEqual(6000);
    expect(second).toBeLessThanOrEqual(6600);
    expect(third).toBeGreaterThanOrEqual(11000);
    expect(third).toBeLessThanOrEqual(12100);
  });

  it('treats a slow_down sent with HTTP 429 (as Auth0 documents) as slow_down, not as a busy server', async () => {
    const { server, flow, time } = await setup({ autoApprove: 1, errorShape: 'rfc6749' });
    // Auth0's documented answer: https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow/call-your-api-using-the-device-authorization-flow
    server.fault({
      route: 'token',
      status: 429,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: 'slow_down',
        error_description: 'You are polling faster than the specified interval of 5 seconds.',
      }),
      count: 1,
    });
    const code = await flow.getDeviceCode();
    const token = await flow.poll(code);
    expect(token.access_token).toMatch(/^at_/);
    // 1 s (slow_down, 429), then 1 + 5 s (pending), then 6 s again (done): no quick retries.
    const [first = 0, second = 0, third = 0] = time.waits;
    expect(time.waits).toHaveLength(3);
    expect(first).toBeLessThanOrEqual(1100);
    expect(second).toBeGreaterThanOrEqual(6000);
    expect(third).toBeGreaterThanOrEqual(6000);
  });

  it.each(['py-oidc-auth', 'rfc6749'] as const)(
    'stops on access_denied (%s shape)',
    async (shape) => {
      const { server, flow } = await setup({ errorShape: shape });
      const code = await flow.getDeviceCode();
      server.deny(code.user_code);
      const error = await rejection(flow.poll(code));
      expect(error.code).toBe(ErrorCode.ACCESS_DENIED);
      expect(error.message).toMatch(/denied/);
      expect(server.stats().device.polls).toBe(1);
    },
  );

  it.each(['py-oidc-auth', 'rfc6749'] as const)(
    'stops on expired_token (%s shape)',
    async (shape) => {
      let now = Date.now();
      const { server, flow } = await setup({ errorShape: shape, clock: () => now });
      const code = await flow.getDeviceCode();
      now += 3_600_000; // the server's clock is past the code's expiry
      const error = await rejection(flow.poll(code.device_code, code.interval));
      expect(error.code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
      expect(server.stats().device.polls).toBe(1);
    },
  );

  it('gives up at the caller’s timeout with OIDC_TIMEOUT', async () => {
    const { server, flow } = await setup();
    const code = await flow.getDeviceCode();
    const error = await rejection(flow.poll(code, 1, { timeout: 1.5 }));
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(server.stats().device.polls).toBe(1);
  });

  it('gives up when the device code’s own expires_in runs out', async () => {
    const { flow } = await setup({ deviceExpiresIn: 1 });
    const code = await flow.getDeviceCode();
    const error = await rejection(flow.poll(code));
    expect(error.code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
  });

  it('stops at once when the signal aborts, with the signal’s reason', async () => {
    const server = await mock();
    const flow = new DeviceFlow({ host: server.url });
    const code = await flow.getDeviceCode();
    const controller = new AbortController();
    const reason = new Error('user pressed ctrl-c');
    const polling = flow.poll(code, 1, { signal: controller.signal });
    controller.abort(reason);
    await expect(polling).rejects.toBe(reason);
    expect(server.stats().device.polls).toBe(0);
  });

  it('retries transient poll failures and carries on', async () => {
    const { server, flow } = await setup({ autoApprove: 0 }, { retry: fastRetry });
    const code = await flow.getDeviceCode();
    server.fault({ route: 'token', status: 502, count: 2 });
    expect((await flow.poll(code)).access_token).toMatch(/^at_/);
    expect(server.stats().routes.token).toBe(3);
  });

  it.each([
    ['not-mounted', 404],
    ['no-device-endpoint', 502],
  ] as const)(
    'reports a server that cannot do the device flow (%s) without retrying',
    async (mode, status) => {
      const server = await mock({ deviceRoute: mode });
      const flow = new DeviceFlow({ host: server.url, retry: fastRetry });
      const error = await rejection(flow.getDeviceCode());
      expect(error.code).toBe(ErrorCode.DEVICE_FLOW_UNSUPPORTED);
      expect(error.status).toBe(status);
      expect(server.stats().routes.device).toBe(1);
    },
  );

  it('retries a 503 device route, then reports the server unavailable', async () => {
    const server = await mock({ deviceRoute: 'unavailable' });
    const flow = new DeviceFlow({ host: server.url, retry: fastRetry });
    const error = await rejection(flow.getDeviceCode());
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.status).toBe(503);
    expect(server.stats().routes.device).toBe(3);
  });

  it('login() shows the code with onDeviceCode and signals the end of the flow', async () => {
    let ended: AbortSignal | undefined;
    const { server, flow } = await setup(
      {},
      {
        onDeviceCode: (event) => {
          expect(event.host).toBe(server.url);
          expect(event.verificationUri).toBe(`${server.url}/device`);
          expect(event.expiresAt.getTime()).toBeGreaterThan(Date.now());
          expect(event.signal.aborted).toBe(false);
          ended = event.signal;
          server.approve(event.userCode);
        },
      },
    );
    await flow.login();
    expect(ended?.aborted).toBe(true);
  });

  it('refuses bad options at construction', () => {
    expect(() => new DeviceFlow({ env: {} })).toThrow(/No server given: pass \{ host/);
    expect(() => new DeviceFlow({ host: 'ftp://x' })).toThrow(AuthError);
    expect(() => new DeviceFlow({ host: 'https://x', requestTimeout: -1 })).toThrow(
      /requestTimeout must be a positive number/,
    );
  });
});
