import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startMockServer } from '../src/index.js';
import { callApi, mock, postJson, startDevice } from './helpers.js';

describe('config control', () => {
  it('changes options over HTTP and validates them', async () => {
    const server = await mock();
    const res = await postJson(`${server.url}/_mock/config`, { accessTtl: 2, interval: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accessTtl: 2, interval: 1 });
    expect((await startDevice(server)).interval).toBe(1);

    const bad = await postJson(`${server.url}/_mock/config`, { accessTtl: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/accessTtl must be a number/);
    const unknown = await postJson(`${server.url}/_mock/config`, { nope: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/unknown option "nope"/);
    expect(server.config().accessTtl).toBe(2);
  });

  it('rejects a body that is not a JSON object', async () => {
    const server = await mock();
    const res = await fetch(`${server.url}/_mock/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'Body must be JSON' });
  });

  it('refuses control calls a web page could make: no JSON content type, or a foreign Host', async () => {
    const server = await mock();
    // A cross-site form post is a "simple request": no preflight, no JSON content type.
    const form = await fetch(`${server.url}/_mock/revoke-all`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(415);
    // DNS rebinding: the browser sends the attacker's host name.
    const { request } = await import('node:http');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${server.url}/_mock/revoke-all`, {
        method: 'POST',
        headers: { host: 'attacker.example:80', 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
    expect(server.stats().routes.api).toBe(0);
    // The stats log digests, never the bearer values.
    const { access_token } = server.issueToken();
    await fetch(`${server.url}/api/x`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(JSON.stringify(server.stats())).not.toContain(access_token);
  });

  it('cors: pages of the listed origins may call the API (preflight, exposed challenge headers), never the controls', async () => {
    const server = await startMockServer({ cors: ['http://localhost:5173'] });
    try {
      const preflight = await fetch(`${server.url}/api/data`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, dpop',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, dpop');
      const api = await fetch(`${server.url}/api/data`, {
        headers: { origin: 'http://localhost:5173' },
      });
      expect(api.status).toBe(401);
      expect(api.headers.get('access-control-expose-headers')).toMatch(/www-authenticate/);
      // Another origin gets no CORS headers; the controls never do.
      const other = await fetch(`${server.url}/api/data`, {
        headers: { origin: 'http://evil.example' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const control = await fetch(`${server.url}/_mock/revoke-all`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      });
      expect(control.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('rejects bad options at start', async () => {
    await expect(startMockServer({ errorShape: 'xml' as never })).rejects.toThrow(/errorShape/);
  });
});

describe('fault control', () => {
  it('answers the next N calls of a route with a status and an HTML body', async () => {
    const server = await mock();
    const res = await postJson(`${server.url}/_mock/fault`, {
      route: 'token',
      status: 502,
      count: 2,
    });
    expect(res.status).toBe(200);
    const { refresh_token } = server.issueToken();
    const body = new URLSearchParams({ 'refresh-token': refresh_token ?? '' });
    for (let i = 0; i < 2; i++) {
      const faulty = await fetch(`${server.url}/auth/v2/token`, { method: 'POST', body });
      expect(faulty.status).toBe(502);
      expect(faulty.headers.get('content-type')).toBe('text/html');
      expect(await faulty.text()).toContain('<html>');
    }
    const ok = await fetch(`${server.url}/auth/v2/token`, { method: 'POST', body });
    expect(ok.status).toBe(200);
    expect(server.stats().routes.token).toBe(3);
  });

  it('sends custom bodies and headers such as 429 with Retry-After', async () => {
    const server = await mock();
    server.fault({
      route: 'device',
      status: 429,
      body: '{"detail":"Too Many Requests"}',
      headers: { 'retry-after': '3' },
    });
    const res = await fetch(`${server.url}/auth/v2/device`, { method: 'POST' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ detail: 'Too Many Requests' });
  });

  it('delays an answer, then answers normally', async () => {
    const server = await mock();
    await postJson(`${server.url}/_mock/fault`, { route: 'device', delay_ms: 150 });
    const started = performance.now();
    const res = await fetch(`${server.url}/auth/v2/device`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('lets a hung answer be cut off by the client', async () => {
    const server = await mock();
    server.fault({ route: 'api', delayMs: 60_000 });
    await expect(
      fetch(`${server.url}/api/x`, { signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow();
  });

  it('holds an answer until a hook called on arrival settles, before anything is spent', async () => {
    const server = await mock();
    const refreshToken = server.issueToken().refresh_token as string;
    let release = () => {};
    const arrived = new Promise<number>((seen) => {
      server.fault({
        route: 'token',
        before: () => {
          seen(server.stats().grants.refresh_token);
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      });
    });
    const answer = fetch(`${server.url}/auth/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'refresh-token': refreshToken }),
    });
    expect(await arrived).toBe(0); // nothing spent while held
    release();
    expect((await answer).status).toBe(200);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('resets the connection', async () => {
    const server = await mock();
    await postJson(`${server.url}/_mock/fault`, { route: 'token', reset: true });
    const error = await fetch(`${server.url}/auth/v2/token`, { method: 'POST' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(((error as TypeError).cause as { code?: string }).code).toMatch(/ECONNRESET|UND_ERR/);
    expect((await fetch(`${server.url}/auth/v2/device`, { method: 'POST' })).status).toBe(200);
  });

  it('refuses unknown routes and bad counts', async () => {
    const server = await mock();
    expect((await postJson(`${server.url}/_mock/fault`, { route: 'nope' })).status).toBe(400);
    expect((await postJson(`${server.url}/_mock/fault`, { route: 'api', count: 0 })).status).toBe(
      400,
    );
  });
});

describe('stats, issue and reset controls', () => {
  it('serves stats over HTTP, the same as stats()', async () => {
    const server = await mock();
    await startDevice(server);
    const res = await fetch(`${server.url}/_mock/stats`);
    expect(await res.json()).toEqual(server.stats());
    expect(server.stats().routes.device).toBe(1);
    expect(server.stats().paths['/_mock/stats']).toBeUndefined();
  });

  it('issues a token family over HTTP', async () => {
    const server = await mock();
    const res = await postJson(`${server.url}/_mock/issue`, { scope: 'openid admin' });
    expect(res.body.scope).toBe('openid admin');
    expect((await callApi(server, '/api/admin', res.body.access_token as string)).status).toBe(200);
  });

  it('resets config, tokens, faults and counters', async () => {
    const server = await mock({ accessTtl: 42 });
    const token = server.issueToken();
    server.configure({ accessTtl: 7 });
    server.fault({ route: 'api', status: 500, count: 5 });
    await callApi(server, '/api/x', token.access_token);
    expect((await postJson(`${server.url}/_mock/reset`)).status).toBe(200);
    expect(server.config().accessTtl).toBe(42);
    expect(server.stats().routes.api).toBe(0);
    const res = await callApi(server, '/api/x', token.access_token);
    expect(res.status).toBe(401);
  });

  it('zeroes counters with resetStats() and keeps tokens', async () => {
    const server = await mock();
    const token = server.issueToken();
    await callApi(server, '/api/x', token.access_token);
    server.resetStats();
    expect(server.stats().paths).toEqual({});
    expect((await callApi(server, '/api/x', token.access_token)).status).toBe(200);
  });

  it('answers 405 for GET on a POST control and 404 for unknown controls', async () => {
    const server = await mock();
    expect((await fetch(`${server.url}/_mock/approve`)).status).toBe(405);
    expect((await postJson(`${server.url}/_mock/nothing`)).status).toBe(404);
  });
});

describe('listening', () => {
  it('listens on 127.0.0.1 on a free port, one per instance', async () => {
    const a = await mock();
    const b = await mock();
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(a.port).not.toBe(b.port);
  });

  it('reports a port in use as a rejection', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    await expect(startMockServer({ port })).rejects.toThrow(/EADDRINUSE/);
    blocker.close();
  });

  it('closes with keep-alive connections open', async () => {
    const server = await startMockServer();
    await fetch(`${server.url}/api/x`);
    await server.close();
    await expect(fetch(`${server.url}/api/x`)).rejects.toThrow();
  });
});
