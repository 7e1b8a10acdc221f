import { randomUUID } from 'node:crypto';
import { ErrorCode, TokenManager, type TokenManagerEvents } from '@oidc-auth/core';
import type { MockServer } from '@oidc-auth/mock-server';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import type { RedisTokenStore } from '../src/index.js';
import { startWorker, type Worker } from './child.js';
import { codeOf, connect, defer, issued, makeStore, mock, raw, until } from './helpers.js';
import { startRedis } from './redis-server.js';

const url = () => inject('redisUrl');
const retry = { retries: 2, minTimeout: 5, maxTimeout: 20 };

function manager(server: MockServer, store: RedisTokenStore): TokenManager {
  const m = new TokenManager({ host: server.url, store, interactive: false, retry });
  defer(() => m.close());
  return m;
}

describe('a fleet on one Redis store', () => {
  it('32 processes × 20 refresh cycles under strict rotation with reuse detection: 20 refreshes, 0 logouts', async () => {
    const server = await mock();
    const namespace = randomUUID();
    await makeStore(await connect('ioredis', url()), { namespace }).put(server.url, issued(server));
    const workers = Array.from({ length: 32 }, () =>
      startWorker([url(), namespace, server.url, 'cycles']),
    );
    const lines = async (worker: Worker) => {
      // Adoption reports may come between answers: skip them here.
      for (;;) {
        const line = JSON.parse(await worker.line()) as { ok?: boolean; access_token?: string };
        if (!('adopted' in line)) return line;
      }
    };
    for (const worker of workers) expect(await worker.line()).toBe('ready');
    let failures = 0;
    const cycles = 20;
    for (let cycle = 0; cycle < cycles; cycle++) {
      for (const worker of workers) worker.send('go');
      const results = await Promise.all(workers.map(lines));
      failures += results.filter((r) => !r.ok).length;
      expect(new Set(results.map((r) => r.access_token)).size).toBe(1);
    }
    for (const worker of workers) worker.process.stdin.end();
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual(workers.map(() => 0));
    expect(failures).toBe(0);
    expect(server.stats().grants.refresh_token).toBe(cycles);
    expect(server.stats().reuseDetected).toBe(0);
  }, 120_000);

  it('a refresh by one process is pushed to the others: they adopt it without asking', async () => {
    const server = await mock();
    const namespace = randomUUID();
    const first = makeStore(await connect('ioredis', url()), { namespace });
    const second = makeStore(await connect('node-redis', url()), { namespace });
    await first.put(server.url, issued(server));
    const a = manager(server, first);
    const b = manager(server, second);
    await a.getToken();
    await b.getToken();
    const adopted: Array<TokenManagerEvents['token']> = [];
    b.on('token', (event) => adopted.push(event));

    a.invalidate();
    const refreshed = await a.getToken();
    await until(() => adopted.length > 0);
    expect(adopted).toEqual([
      expect.objectContaining({ host: server.url, source: 'other-process' }),
    ]);
    // b now sends the new token without touching Redis or the server.
    expect(await b.authorization()).toBe(`Bearer ${refreshed.access_token}`);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('two managers sharing one store object: a refresh by one reaches the other at once', async () => {
    const server = await mock();
    const store = makeStore(await connect('ioredis', url()));
    await store.put(server.url, issued(server));
    const a = manager(server, store);
    const b = manager(server, store);
    await a.getToken();
    await b.getToken();
    const adopted = new Promise<TokenManagerEvents['token']>((resolve) => b.on('token', resolve));
    a.invalidate();
    const refreshed = await a.getToken();
    expect(await adopted).toMatchObject({ source: 'other-process' });
    expect(await b.authorization()).toBe(`Bearer ${refreshed.access_token}`);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('a holder paused (SIGSTOP) past its lease before refreshing: it adopts the token another stored, 0 logouts', async () => {
    const server = await mock();
    const namespace = randomUUID();
    // The frozen holder has a short lease (500 ms); this process keeps the default one.
    const store = makeStore(await connect('ioredis', url()), { namespace });
    await store.put(server.url, issued(server));
    const paused = startWorker([url(), namespace, server.url, 'paused-lock', '500']);
    expect(await paused.line()).toBe('locked');
    paused.process.kill('SIGSTOP');

    // Another process needs a fresh token: it waits for the frozen holder's lease to end.
    const other = manager(server, store);
    await other.getToken();
    other.invalidate();
    const refreshed = await other.getToken();

    paused.process.kill('SIGCONT');
    paused.send('go');
    const result = JSON.parse(await paused.line()) as { ok: boolean; access_token?: string };
    expect(result).toEqual({ ok: true, access_token: refreshed.access_token });
    expect(await paused.exited).toBe(0);
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(server.stats().reuseDetected).toBe(0);
  });

  it('a holder killed (SIGKILL) inside the lock: another process refreshes once its lease ends', async () => {
    const server = await mock();
    const namespace = randomUUID();
    // The frozen holder has a short lease (500 ms); this process keeps the default one.
    const store = makeStore(await connect('ioredis', url()), { namespace });
    await store.put(server.url, issued(server));
    const doomed = startWorker([url(), namespace, server.url, 'paused-lock', '500']);
    expect(await doomed.line()).toBe('locked');
    doomed.process.kill('SIGKILL');
    await doomed.exited;

    const other = manager(server, store);
    await other.getToken();
    other.invalidate();
    const refreshed = await other.getToken();
    expect((await store.get(server.url))?.token.access_token).toBe(refreshed.access_token);
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(server.stats().reuseDetected).toBe(0);
  });
});

describe('when Redis fails', () => {
  it('down at start: a typed STORE_ERROR that names Redis, at once, never a hang', async () => {
    const server = await mock();
    const redis = await startRedis();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    defer(() => client.disconnect());
    await redis.close();
    const store = makeStore(client, { commandTimeoutMs: 2_000 });
    const error = await codeOf(manager(server, store).getToken());
    expect(error.code).toBe(ErrorCode.STORE_ERROR);
    expect(error.message).toMatch(
      /Redis (failed|did not answer).*Is it running and reachable\?|is it running and reachable\?/,
    );
  });

  it('down when a process started: once Redis is back, its next lock also brings back the pushes', async () => {
    const server = await mock();
    const redis = await startRedis();
    defer(() => redis.close());
    const namespace = randomUUID();
    const seeded = makeStore(await connect('ioredis', redis.url), { namespace });
    await seeded.put(server.url, issued(server));
    const late = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    late.on('error', () => undefined);
    defer(() => late.disconnect());
    await redis.stop(); // refused: the store's subscription fails
    const store = makeStore(late, { namespace, commandTimeoutMs: 300 });
    const b = manager(server, store);
    expect((await codeOf(b.getToken())).code).toBe(ErrorCode.STORE_ERROR);
    await redis.start(); // same port, empty
    await until(() => late.status === 'ready');
    await seeded.put(server.url, issued(server));
    await b.getToken();
    b.invalidate();
    await b.getToken(); // a refresh: under the lock, the subscription is tried again
    const adopted = new Promise((resolve) => b.on('token', resolve));
    const a = manager(server, seeded);
    await a.getToken();
    a.invalidate();
    await a.getToken();
    expect(await adopted).toMatchObject({ source: 'other-process' });
    expect(server.stats().grants.refresh_token).toBe(2);
  });

  it('paused: a valid token in memory keeps working; a refresh fails typed; all is well once Redis is back', async () => {
    const server = await mock();
    const redis = await startRedis();
    defer(() => redis.close());
    const store = makeStore(await connect('ioredis', redis.url), { commandTimeoutMs: 300 });
    await store.put(server.url, issued(server));
    const m = manager(server, store);
    const header = await m.authorization();

    redis.pause();
    expect(await m.authorization()).toBe(header);
    m.invalidate();
    const error = await codeOf(m.getToken());
    expect(error.code).toBe(ErrorCode.STORE_ERROR);
    expect(error.message).toMatch(/Redis did not answer within 0.3 s/);
    expect(server.stats().grants.refresh_token).toBe(0);

    redis.resume();
    const refreshed = await m.getToken();
    expect(server.stats().grants.refresh_token).toBe(1);
    expect((await store.get(server.url))?.token.access_token).toBe(refreshed.access_token);
  });

  it('restarted empty mid-run: requests go on from memory, and the next refresh stores the token again', async () => {
    const server = await mock();
    const redis = await startRedis();
    defer(() => redis.close());
    const client = await connect('ioredis', redis.url);
    const store = makeStore(client, { commandTimeoutMs: 2_000 });
    await store.put(server.url, issued(server));
    const m = manager(server, store);
    const header = await m.authorization();

    await redis.stop();
    expect(await m.authorization()).toBe(header);
    await redis.start(); // same port, no data: every token and lock is gone
    await until(() => (client as Redis).status === 'ready');

    m.invalidate();
    const refreshed = await m.getToken(); // the refresh token kept in memory is spent once
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(server.stats().reuseDetected).toBe(0);
    expect((await store.get(server.url))?.token.access_token).toBe(refreshed.access_token);
    const keys = await (await raw(redis.url)).keys('*');
    expect(keys.some((key) => key.includes(':entry:'))).toBe(true);
  });

  it('no token, refresh token or key in the errors', async () => {
    const server = await mock();
    const redis = await startRedis();
    defer(() => redis.close());
    const store = makeStore(await connect('ioredis', redis.url), { commandTimeoutMs: 300 });
    const stored = issued(server);
    await store.put(server.url, stored);
    redis.pause();
    const error = await codeOf(store.put(server.url, stored));
    redis.resume();
    const shown = `${error.message} ${JSON.stringify(error)} ${String(error.cause)}`;
    expect(shown).not.toContain(stored.access_token);
    expect(shown).not.toContain(stored.refresh_token);
  });
});
