import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceFlow, ErrorCode, FileTokenStore, parseTokenJson } from '../src/index.js';
import { fastRetry, manager, mock, rejection, seededStore } from './helpers.js';

describe('robustness', () => {
  it('a deeply nested JSON error body ends as an AuthError, not a RangeError', async () => {
    for (const depth of [5_000, 50_000, 500_000]) {
      const server = await mock();
      const body = `{"error":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      server.fault({ route: 'device', status: 400, body });
      const error = await rejection(
        new DeviceFlow({ host: server.url, retry: fastRetry }).getDeviceCode(),
      );
      expect(error.code).toBe(ErrorCode.SERVER_ERROR);
      expect(error.message.length).toBeLessThan(1000);
    }
  });

  it('expires_in ≤ 0 does not make every call refresh', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, {
      store,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (!String(init?.body ?? '').includes('refresh-token')) return res;
        const body = (await res.json()) as Record<string, unknown>;
        // A server claiming the new token lives 0 (or -5) seconds.
        const { expires: _, ...rest } = body;
        return Response.json({ ...rest, expires_in: 0 });
      },
    });
    for (let i = 0; i < 20; i++) await m.authorization();
    expect(server.stats().grants.refresh_token).toBe(1);
    const t = parseTokenJson({ access_token: 'a', expires_in: -5 }, 1_000);
    expect(t.expires).toBe(1_180);
  });

  it('absurd expiry times are clamped to what a date can show', async () => {
    const t = parseTokenJson({ access_token: 'a', expires: 1e20, refresh_expires: 1e300 }, 0);
    expect(new Date(t.expires * 1000).getUTCFullYear()).toBe(9999);
    expect(new Date(t.refresh_expires * 1000).toISOString()).toMatch(/^9999-12-31/);
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-clamp-'));
    try {
      const path = join(dir, 'token-store.json');
      await writeFile(
        path,
        JSON.stringify({
          'https://a.example': {
            token: { access_token: 'x', expires: 1e20, refresh_expires: 1e20 },
            stored_at: 0,
          },
        }),
      );
      const stored = await new FileTokenStore({ path }).get('https://a.example');
      expect(new Date((stored?.token.expires ?? 0) * 1000).toISOString()).toMatch(/^9999/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('unreachable servers fail fast', () => {
  it.each([
    ['nothing listening', 'http://127.0.0.1:59998', 'ECONNREFUSED'],
    ['no such host', 'https://no-such-host.invalid', 'ENOTFOUND'],
    ['a blocked port', 'http://127.0.0.1:1', 'port 1 is not one a client may connect to'],
  ])('%s: one attempt, "check the host name"', async (_name, host, code) => {
    let attempts = 0;
    const flow = new DeviceFlow({
      host,
      retry: { retries: 3, minTimeout: 60_000, maxTimeout: 60_000 },
      fetch: (input, init) => {
        attempts++;
        return fetch(input, init);
      },
    });
    const error = await rejection(flow.getDeviceCode());
    expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
    expect(error.message).toContain(
      code.startsWith('E')
        ? `(${code}): check the host name and port`
        : `${code} (fetch blocks it). Check the port in the URL.`,
    );
    expect(error.message).not.toContain('ERR_SOCKET_BAD_PORT');
    expect(attempts).toBe(1);
  });
});

describe('TLS failures fail fast, with the way out', () => {
  it('https to a server that speaks plain http: one attempt, "did you mean http://…?"', async () => {
    const { listenLoopback } = await import('@oidc-auth/test-support/loopback');
    const plain = await listenLoopback((_req, res) => res.end('{}'));
    let connections = 0;
    plain.server.on('connection', () => connections++);
    const host = plain.url.replace('http://', 'https://');
    try {
      const flow = new DeviceFlow({
        host,
        // Retries that would wait a minute each: a TLS failure must not be retried at all.
        retry: { retries: 3, minTimeout: 60_000, maxTimeout: 60_000 },
      });
      const error = await rejection(flow.getDeviceCode());
      expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
      expect(error.message).toContain(`${host} does not speak https`);
      expect(error.message).toContain(`did you mean ${plain.url}?`);
      expect(connections).toBe(1);
    } finally {
      await plain.close();
    }
  });
});
