import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerDigest } from '../src/index.js';
import { callApi, mock, postJson, refresh } from './helpers.js';

describe('protected API', () => {
  it('echoes method, path, body and subject for a valid bearer', async () => {
    const server = await mock({ subject: 'alice' });
    const { access_token } = server.issueToken();
    const res = await callApi(server, '/api/items/7?q=1', access_token, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      method: 'PUT',
      path: '/api/items/7',
      query: '?q=1',
      subject: 'alice',
      contentType: 'application/json',
      body: '{"a":1}',
      bodyLength: 7,
      bodySha256: createHash('sha256').update('{"a":1}').digest('hex'),
    });
  });

  it('answers 401 Not authenticated with WWW-Authenticate: Bearer without a bearer', async () => {
    const server = await mock();
    const res = await callApi(server, '/api/data');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ detail: 'Not authenticated' });
  });

  it('answers 401 Invalid token with error="invalid_token" for a bad bearer', async () => {
    const server = await mock();
    const res = await callApi(server, '/api/data', 'at_forged');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toEqual({ detail: 'Invalid token' });
  });

  it('answers 403 insufficient_scope on /api/admin without the admin scope', async () => {
    const server = await mock();
    const plain = server.issueToken();
    const res = await callApi(server, '/api/admin', plain.access_token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const admin = server.issueToken({ scope: 'openid admin' });
    expect((await callApi(server, '/api/admin', admin.access_token)).status).toBe(200);
  });

  it('revoke-all kills access and refresh tokens, or only access tokens with keep_refresh', async () => {
    const server = await mock();
    const a = server.issueToken();
    const b = server.issueToken();
    await postJson(`${server.url}/_mock/revoke-all`, { keep_refresh: true });
    expect((await callApi(server, '/api/x', a.access_token)).status).toBe(401);
    const refreshed = await refresh(server, a.refresh_token ?? '');
    expect(refreshed.status).toBe(200);

    await postJson(`${server.url}/_mock/revoke-all`);
    expect((await callApi(server, '/api/x', refreshed.body.access_token as string)).status).toBe(
      401,
    );
    expect((await refresh(server, b.refresh_token ?? '')).status).toBe(400);
  });

  it('serves userinfo for a valid bearer and 401 otherwise', async () => {
    const server = await mock();
    const { access_token } = server.issueToken();
    const ok = await callApi(server, '/auth/v2/userinfo', access_token);
    expect(await ok.json()).toMatchObject({ sub: 'mock-user' });
    expect((await callApi(server, '/auth/v2/userinfo')).status).toBe(401);
  });

  it('logs the Authorization headers each path received', async () => {
    const server = await mock();
    const { access_token } = server.issueToken();
    await callApi(server, '/api/one', access_token);
    await callApi(server, '/api/one', access_token);
    await callApi(server, '/api/two');
    await callApi(server, '/elsewhere');
    const { paths, routes } = server.stats();
    expect(paths['/api/one']).toEqual({
      calls: 2,
      authorization: { [headerDigest(`Bearer ${access_token}`)]: 2 },
    });
    expect(paths['/api/two']).toEqual({ calls: 1, authorization: {} });
    expect(paths['/elsewhere']).toEqual({ calls: 1, authorization: {} });
    expect(routes.api).toBe(3);
  });
});

describe('redirect route', () => {
  it.each([301, 302, 303, 307, 308])('redirects with %i to the given URL', async (status) => {
    const server = await mock();
    const to = 'http://127.0.0.1:9/elsewhere';
    const res = await fetch(
      `${server.url}/redirect?to=${encodeURIComponent(to)}&status=${status}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(status);
    expect(res.headers.get('location')).toBe(to);
  });

  it('refuses a missing target or a status that is not a redirect', async () => {
    const server = await mock();
    expect((await fetch(`${server.url}/redirect?status=302`)).status).toBe(400);
    expect((await fetch(`${server.url}/redirect?to=http://x/&status=200`)).status).toBe(400);
  });

  it('answers 404 Not Found in the FastAPI shape for unknown paths', async () => {
    const server = await mock();
    const res = await fetch(`${server.url}/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Not Found' });
  });
});
