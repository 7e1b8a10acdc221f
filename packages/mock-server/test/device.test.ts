import { describe, expect, it } from 'vitest';
import { errorCode, manualClock, mock, poll, postJson, startDevice } from './helpers.js';

describe('device route', () => {
  it('answers a device authorization with the py-oidc-auth fields', async () => {
    const server = await mock({ interval: 2, deviceExpiresIn: 120 });
    const res = await fetch(`${server.url}/auth/v2/device`, { method: 'POST' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      device_code: expect.stringMatching(/^dc_/),
      user_code: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/),
      verification_uri: `${server.url}/device`,
      verification_uri_complete: `${server.url}/device?user_code=${body.user_code}`,
      expires_in: 120,
      interval: 2,
    });
    expect(server.stats().device.issued).toBe(1);
    expect(server.stats().routes.device).toBe(1);
  });

  it('sends verification_uri_complete as null when switched off', async () => {
    const server = await mock({ verificationUriComplete: false });
    expect((await startDevice(server)).verification_uri_complete).toBeNull();
  });

  it('keeps answering authorization_pending until approved, then issues tokens once', async () => {
    const server = await mock();
    const code = await startDevice(server);
    const pending = await poll(server, code.device_code);
    expect(pending.status).toBe(400);
    expect(errorCode(pending.body)).toBe('authorization_pending');
    expect(pending.body.detail).toMatch(/^Upstream OIDC error: \{/);

    expect(server.approve(code.user_code)).toBe(true);
    const done = await poll(server, code.device_code);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      access_token: expect.stringMatching(/^at_/),
      token_type: 'Bearer',
      refresh_token: expect.stringMatching(/^rt_/),
      scope: 'openid profile email offline_access',
    });
    expect(server.stats().grants.device_code).toBe(2);
    expect(server.stats().device.pollsAfterApproval).toBe(1);

    const again = await poll(server, code.device_code);
    expect(errorCode(again.body)).toBe('invalid_grant');
  });

  it('answers expires and refresh_expires as absolute Unix seconds', async () => {
    const clock = manualClock();
    const server = await mock({ clock: () => clock.now, accessTtl: 30, refreshTtl: 90 });
    const code = await startDevice(server);
    server.approve(code.user_code);
    const { body } = await poll(server, code.device_code);
    expect(body.expires).toBe(clock.now / 1000 + 30);
    expect(body.refresh_expires).toBe(clock.now / 1000 + 90);
  });

  it('approves and denies over the HTTP controls', async () => {
    const server = await mock();
    const a = await startDevice(server);
    const b = await startDevice(server);
    expect((await postJson(`${server.url}/_mock/approve`, { user_code: a.user_code })).status).toBe(
      200,
    );
    const deny = await postJson(`${server.url}/_mock/deny`, { user_code: b.user_code });
    expect(deny.status).toBe(200);
    expect(deny.body).toEqual({ user_code: b.user_code.toUpperCase(), state: 'denied' });
    expect((await poll(server, a.device_code)).status).toBe(200);
    const denied = await poll(server, b.device_code);
    expect(errorCode(denied.body)).toBe('access_denied');
    const unknown = await postJson(`${server.url}/_mock/approve`, { user_code: 'NOPE-NOPE' });
    expect(unknown.status).toBe(404);
    const missing = await postJson(`${server.url}/_mock/approve`, {});
    expect(missing.status).toBe(400);
  });

  it('approves every pending login with {"all": true}', async () => {
    const server = await mock();
    const codes = [await startDevice(server), await startDevice(server)];
    const res = await postJson(`${server.url}/_mock/approve`, { all: true });
    expect(res.body).toEqual({ approved: 2 });
    for (const code of codes) expect((await poll(server, code.device_code)).status).toBe(200);
    expect(server.pendingUserCodes()).toEqual([]);
  });

  it('lists pending user codes', async () => {
    const server = await mock();
    const code = await startDevice(server);
    const res = await postJson(`${server.url}/_mock/pending`);
    expect(res.body).toEqual({ user_codes: [code.user_code] });
  });

  it('approves by itself after N polls with autoApprove', async () => {
    const server = await mock({ autoApprove: 2 });
    const code = await startDevice(server);
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('authorization_pending');
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('authorization_pending');
    expect((await poll(server, code.device_code)).status).toBe(200);
  });

  it('answers slow_down for the next N polls', async () => {
    const server = await mock({ autoApprove: 0 });
    server.configure({ slowDown: 2 });
    const code = await startDevice(server);
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('slow_down');
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('slow_down');
    expect(server.config().slowDown).toBe(0);
    expect((await poll(server, code.device_code)).status).toBe(200);
  });

  it('answers expired_token once the device code has expired', async () => {
    const clock = manualClock();
    const server = await mock({ clock: () => clock.now, deviceExpiresIn: 60 });
    const code = await startDevice(server);
    clock.tick(61);
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('expired_token');
    expect(server.approve(code.user_code)).toBe(false);
  });

  it('answers poll errors in the plain RFC 6749 shape when asked', async () => {
    const server = await mock({ errorShape: 'rfc6749' });
    const code = await startDevice(server);
    const res = await poll(server, code.device_code);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'authorization_pending',
      error_description: expect.any(String),
    });
  });

  it.each([
    ['unavailable', 503, 'Service Unavailable'],
    ['not-mounted', 404, 'Not Found'],
    [
      'no-device-endpoint',
      502,
      "OIDC endpoint 'device_authorization_endpoint' not found in discovery.",
    ],
  ] as const)(
    'can answer like a server that cannot do the device flow: %s',
    async (mode, status, detail) => {
      const server = await mock({ deviceRoute: mode });
      const res = await fetch(`${server.url}/auth/v2/device`, { method: 'POST' });
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ detail });
    },
  );

  it('refuses GET on the device route', async () => {
    const server = await mock();
    const res = await fetch(`${server.url}/auth/v2/device`);
    expect(res.status).toBe(405);
  });
});

describe('approval page', () => {
  it('shows Approve and Deny for a pending code, and approving completes the login', async () => {
    const server = await mock();
    const code = await startDevice(server);
    const page = await fetch(code.verification_uri_complete ?? '');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const text = await page.text();
    expect(text).toContain(code.user_code);
    expect(text).toContain('id="approve"');
    expect(text).toContain('id="deny"');

    const decision = await fetch(`${server.url}/device`, {
      method: 'POST',
      body: new URLSearchParams({ user_code: code.user_code, action: 'approve' }),
    });
    expect(decision.status).toBe(200);
    expect(await decision.text()).toContain('Device approved');
    expect((await poll(server, code.device_code)).status).toBe(200);
  });

  it('denies from the page', async () => {
    const server = await mock();
    const code = await startDevice(server);
    await fetch(`${server.url}/device`, {
      method: 'POST',
      body: new URLSearchParams({ user_code: code.user_code.toLowerCase(), action: 'deny' }),
    });
    expect(errorCode((await poll(server, code.device_code)).body)).toBe('access_denied');
  });

  it('asks for a code without one and says so for an unknown code', async () => {
    const server = await mock();
    const empty = await fetch(`${server.url}/device`);
    expect(empty.status).toBe(200);
    expect(await empty.text()).toContain('name="user_code"');
    const unknown = await fetch(`${server.url}/device?user_code=ZZZZ-ZZZZ`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('not pending');
    const escaped = await fetch(`${server.url}/device?user_code=${encodeURIComponent('<b>')}`);
    expect(await escaped.text()).toContain('&lt;b&gt;');
  });
});
