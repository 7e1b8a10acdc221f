import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callApi, errorCode, manualClock, mock, postForm, refresh } from './helpers.js';

describe('token route: refresh', () => {
  it('rotates the refresh token and keeps the old access token working until it expires', async () => {
    const server = await mock();
    const first = server.issueToken();
    const res = await refresh(server, first.refresh_token ?? '');
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).not.toBe(first.refresh_token);
    expect(res.body.access_token).not.toBe(first.access_token);
    expect((await callApi(server, '/api/data', res.body.access_token as string)).status).toBe(200);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('revokes the whole family when a rotated refresh token is presented again', async () => {
    const server = await mock();
    const first = server.issueToken();
    const second = await refresh(server, first.refresh_token ?? '');
    const reuse = await refresh(server, first.refresh_token ?? '');
    expect(reuse.status).toBe(400);
    expect(errorCode(reuse.body)).toBe('invalid_grant');
    expect(server.stats().reuseDetected).toBe(1);
    // The family is gone: the newest refresh token and access token are dead too.
    expect(errorCode((await refresh(server, second.body.refresh_token as string)).body)).toBe(
      'invalid_grant',
    );
    expect((await callApi(server, '/api/x', second.body.access_token as string)).status).toBe(401);
  });

  it('refuses a rotated token without revoking anything when reuse detection is off', async () => {
    const server = await mock({ reuseDetection: false });
    const first = server.issueToken();
    const second = await refresh(server, first.refresh_token ?? '');
    expect(errorCode((await refresh(server, first.refresh_token ?? '')).body)).toBe(
      'invalid_grant',
    );
    expect((await refresh(server, second.body.refresh_token as string)).status).toBe(200);
    expect(server.stats().reuseDetected).toBe(0);
  });

  it('returns the same refresh token when rotation is off', async () => {
    const server = await mock({ rotation: false });
    const first = server.issueToken();
    const a = await refresh(server, first.refresh_token ?? '');
    const b = await refresh(server, first.refresh_token ?? '');
    expect(a.body.refresh_token).toBe(first.refresh_token);
    expect(b.status).toBe(200);
    expect(b.body.refresh_expires).toBe(first.refresh_expires);
  });

  it('leaves refresh_token out of refresh answers when asked', async () => {
    const server = await mock({ omitRefreshTokenOnRefresh: true });
    const first = server.issueToken();
    const res = await refresh(server, first.refresh_token ?? '');
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
  });

  it('refuses an expired refresh token with invalid_grant', async () => {
    const clock = manualClock();
    const server = await mock({ clock: () => clock.now, refreshTtl: 10 });
    const first = server.issueToken();
    clock.tick(11);
    const res = await refresh(server, first.refresh_token ?? '');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      detail:
        'Upstream OIDC error: {"error":"invalid_grant","error_description":"Token is not active"}',
    });
  });

  it('refuses an unknown refresh token', async () => {
    const server = await mock();
    expect(errorCode((await refresh(server, 'rt_unknown')).body)).toBe('invalid_grant');
  });

  it('answers 400 with the server’s own detail when no grant is given', async () => {
    const server = await mock();
    const res = await postForm(`${server.url}/auth/v2/token`, { grant_type: 'refresh_token' });
    expect(res).toEqual({
      status: 400,
      body: { detail: 'Missing (device) code or refresh_token' },
    });
  });

  it('honours configured lifetimes down to one second', async () => {
    const clock = manualClock();
    const server = await mock({ clock: () => clock.now, accessTtl: 1, refreshTtl: 1 });
    const token = server.issueToken();
    expect(token.expires - clock.now / 1000).toBe(1);
    expect((await callApi(server, '/api/a', token.access_token)).status).toBe(200);
    clock.tick(1);
    expect((await callApi(server, '/api/a', token.access_token)).status).toBe(401);
  });
});

describe('login, callback and the code exchange (PKCE S256)', () => {
  it('redirects back with a code and a py-oidc-auth state that carries the verifier', async () => {
    const server = await mock();
    const redirectUri = 'http://localhost:53100/callback';
    const res = await fetch(
      `${server.url}/auth/v2/login?redirect_uri=${encodeURIComponent(redirectUri)}&offline_access=true&prompt=consent`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    const code = location.searchParams.get('code') ?? '';
    const state = (location.searchParams.get('state') ?? '').split('|');
    expect(state).toHaveLength(3);
    expect(state[1]).toBe(redirectUri);
    expect(state[2]).toMatch(/^[\w-]{43,128}$/);

    const wrong = await postForm(`${server.url}/auth/v2/token`, {
      code,
      redirect_uri: redirectUri,
      code_verifier: randomBytes(32).toString('base64url'),
      grant_type: 'authorization_code',
    });
    expect(errorCode(wrong.body)).toBe('invalid_grant');
    expect(server.stats().grants.authorization_code).toBe(1);
  });

  it('exchanges the code once with the right verifier and redirect_uri', async () => {
    const server = await mock();
    const redirectUri = 'http://localhost:53101/callback';
    const res = await fetch(
      `${server.url}/auth/v2/login?redirect_uri=${encodeURIComponent(redirectUri)}`,
      { redirect: 'manual' },
    );
    const location = new URL(res.headers.get('location') ?? '');
    const code = location.searchParams.get('code') ?? '';
    const verifier = (location.searchParams.get('state') ?? '').split('|')[2] ?? '';
    const fields = { code, redirect_uri: redirectUri, code_verifier: verifier };
    const ok = await postForm(`${server.url}/auth/v2/token`, fields);
    expect(ok.status).toBe(200);
    const replay = await postForm(`${server.url}/auth/v2/token`, fields);
    expect(errorCode(replay.body)).toBe('invalid_grant');
  });

  it('refuses a code presented with another redirect_uri', async () => {
    const server = await mock();
    const res = await fetch(
      `${server.url}/auth/v2/login?redirect_uri=${encodeURIComponent('http://localhost:53100/callback')}`,
      { redirect: 'manual' },
    );
    const location = new URL(res.headers.get('location') ?? '');
    const out = await postForm(`${server.url}/auth/v2/token`, {
      code: location.searchParams.get('code') ?? '',
      redirect_uri: 'http://localhost:53102/callback',
      code_verifier: (location.searchParams.get('state') ?? '').split('|')[2] ?? '',
    });
    expect(errorCode(out.body)).toBe('invalid_grant');
  });

  it('answers the callback route with token JSON, and 400 for a bad state', async () => {
    const server = await mock();
    const res = await fetch(
      `${server.url}/auth/v2/login?redirect_uri=${encodeURIComponent(`${server.url}/auth/v2/callback`)}`,
      { redirect: 'manual' },
    );
    const location = res.headers.get('location') ?? '';
    const callback = await fetch(location);
    expect(callback.status).toBe(200);
    expect(await callback.json()).toMatchObject({ token_type: 'Bearer' });
    const bad = await fetch(`${server.url}/auth/v2/callback?code=x&state=nope`);
    expect(bad.status).toBe(400);
  });

  it('answers 400 without a redirect_uri', async () => {
    const server = await mock();
    const res = await fetch(`${server.url}/auth/v2/login`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'Missing redirect_uri' });
  });
});
