// The fleet figures of the Redis store, against a real redis-server (Debian's package) and the
// mock server with strict rotation and reuse detection. Worker processes are
// packages/redis/test/fixtures/worker.ts, the same the tests use.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  type LockedEntry,
  MemoryTokenStore,
  parseTokenJson,
  type Token,
  TokenManager,
  type TokenStore,
} from '@oidc-auth/core';
import { type MockServer, startMockServer } from '@oidc-auth/mock-server';
import { RedisTokenStore } from '@oidc-auth/redis';
import { delegateStore } from '@oidc-auth/test-support/delegate-store';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from '../packages/redis/test/redis-server.js';

const workerScript = fileURLToPath(
  new URL('../packages/redis/test/fixtures/worker.ts', import.meta.url),
);
const retry = { retries: 2, minTimeout: 5, maxTimeout: 20 };

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  /** The end of what it wrote on stderr. */
  stderr(): string;
  line(): Promise<string>;
  send(line: string): void;
  exited: Promise<unknown>;
}

/** A worker process (`env`: added to this one's, e.g. which Redis client it uses). */
export function startWorker(
  args: string[],
  onLine?: (line: string) => boolean,
  env: Record<string, string> = {},
): Worker {
  const child = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', workerScript, ...args],
    { env: { ...process.env, ...env } },
  );
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (onLine?.(line)) return;
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return {
    child,
    stderr: () => stderr,
    line: () => {
      const next = queue.shift();
      return next !== undefined ? Promise.resolve(next) : new Promise((r) => waiters.push(r));
    },
    send: (line) => child.stdin.write(`${line}\n`),
    exited: once(child, 'exit'),
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)] ?? 0) * 100) / 100;
}

export function issued(server: MockServer): Token {
  return parseTokenJson(server.issueToken(), Date.now() / 1000);
}

async function withServers<T>(fn: (redis: RedisServer, client: Redis) => Promise<T>): Promise<T> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  client.on('error', () => undefined);
  try {
    return await fn(redis, client);
  } finally {
    client.disconnect();
    await redis.close();
  }
}

/**
 * N worker processes × C refresh cycles on one Redis store: each cycle every worker recovers
 * from a 401 for the token it used last. Counts refreshes, logouts (failed recoveries), reuse
 * detections; and, separately, how long after a token is stored every other process has
 * adopted it (pushed over pub/sub), p50/p99 over all workers and rounds.
 */
export async function fleetRefresh(workers: number, cycles: number) {
  return withServers(async (redis, client) => {
    const server = await startMockServer({ rotation: true, reuseDetection: true });
    const namespace = randomUUID();
    // Encrypted, as the store is by default (and as its announcements then carry the entry).
    const key = randomBytes(32).toString('base64');
    const encryptionKey = { id: 'k1', key };
    const seed = new RedisTokenStore({ client, namespace, encryptionKey });
    await seed.put(server.url, issued(server));
    const adoptedAt: number[] = [];
    const floorAt: number[] = [];
    const floorChannel = `floor:${namespace}`;
    const fleet = Array.from({ length: workers }, () =>
      startWorker(
        [redis.url, namespace, server.url, 'cycles'],
        (line) => {
          const heard = line.startsWith('{"adopted"')
            ? adoptedAt
            : line.startsWith('{"floor"')
              ? floorAt
              : undefined;
          heard?.push((JSON.parse(line) as { at: number }).at);
          return heard !== undefined;
        },
        { OIDC_BENCH_FLOOR: floorChannel, OIDC_TEST_REDIS_KEY: key },
      ),
    );
    for (const worker of fleet) await worker.line();

    // Refresh cycles: the whole fleet at once. Redis's own command counter, read before and
    // after, gives the commands the fleet sent (INFO itself adds one each time).
    const commandsSoFar = async () =>
      Number(/total_commands_processed:(\d+)/.exec(String(await client.info('stats')))?.[1]);
    const commandsBefore = await commandsSoFar();
    const cyclesStarted = performance.now();
    let logouts = 0;
    const cycleMs: number[] = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      const started = performance.now();
      for (const worker of fleet) worker.send('go');
      const answers = await Promise.all(
        fleet.map(async (w) => JSON.parse(await w.line()) as { ok: boolean }),
      );
      cycleMs.push(performance.now() - started);
      logouts += answers.filter((a) => !a.ok).length;
    }
    const cyclesMinutes = (performance.now() - cyclesStarted) / 60_000;
    const commands = (await commandsSoFar()) - commandsBefore - 1;
    const stats = server.stats();

    // Adoption: this process refreshes; the clock starts when its write is sent (the write
    // announces the token, and a process may take it before the write's answer is back here).
    const store = new RedisTokenStore({ client, namespace, encryptionKey });
    let storedAt = 0;
    const timed = delegateStore(store, {
      withLock: (h, fn) =>
        store.withLock(h, (entry: LockedEntry) =>
          fn({
            get: () => entry.get(),
            put: async (t) => {
              const sent = Date.now();
              await entry.put(t);
              storedAt = sent;
            },
            get signal() {
              return entry.signal;
            },
          }),
        ),
    });
    const manager = new TokenManager({ host: server.url, store: timed, interactive: false, retry });
    await manager.getToken(); // loaded: each invalidate() below then forces a refresh
    const latencies: number[] = [];
    const floorLatencies: number[] = [];
    const heardBy = async (heard: number[], since: number, into: number[]) => {
      while (heard.length < workers) await new Promise((resolve) => setImmediate(resolve));
      for (const at of heard) into.push(at - since);
      heard.length = 0;
    };
    // The floor, interleaved with the library's rounds in the same processes: one message of a
    // stored entry's size published to a bare subscriber in each (no store, no manager) — what
    // waking 128 processes to hear a push costs on this machine, whatever the library does.
    const floorMessage = JSON.stringify({
      t: 'changed',
      h: server.url,
      e: JSON.stringify({ token: issued(server), stored_at: Date.now() / 1000, v: 1 }),
    });
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      adoptedAt.length = 0; // what the storm's cycles printed late
      manager.invalidate();
      await manager.getToken();
      await heardBy(adoptedAt, storedAt, latencies);
      const sent = Date.now();
      await client.publish(floorChannel, floorMessage);
      await heardBy(floorAt, sent, floorLatencies);
    }
    manager.close();
    for (const worker of fleet) worker.child.stdin.end();
    await Promise.all(fleet.map((w) => w.exited));
    await Promise.all([store.close(), seed.close(), server.close()]);
    return {
      workers,
      cycles,
      refreshCalls: stats.grants.refresh_token,
      logouts,
      reuseDetected: stats.reuseDetected,
      cycleMsP50: percentile(cycleMs, 50),
      cycleMsP99: percentile(cycleMs, 99),
      redisCommands: {
        total: commands,
        perProcessPerCycle: Math.round((commands / workers / cycles) * 100) / 100,
        // At this bench's pace (a refresh every cycle, back to back); a fleet refreshing every
        // 5 minutes sends perProcessPerCycle / 5 per process per minute.
        perProcessPerMinute: Math.round(commands / workers / cyclesMinutes),
      },
      adoption: {
        samples: latencies.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: percentile(latencies, 100),
        floor: {
          p50Ms: percentile(floorLatencies, 50),
          p99Ms: percentile(floorLatencies, 99),
          maxMs: percentile(floorLatencies, 100),
        },
      },
    };
  });
}

/**
 * A lock holder SIGKILLed inside the lock, before its refresh: how long until another process
 * refreshed. The waiter sleeps until the holder's lease ends (it knows the lock's TTL), so
 * the takeover is the rest of that lease plus one refresh.
 */
export async function killedHolder(leaseMs: number) {
  return withServers(async (redis, client) => {
    const server = await startMockServer({ rotation: true, reuseDetection: true });
    const namespace = randomUUID();
    const store = new RedisTokenStore({ client, namespace, plaintext: true });
    await store.put(server.url, issued(server));
    const holder = startWorker([redis.url, namespace, server.url, 'paused-lock', String(leaseMs)]);
    await holder.line(); // "locked"
    const manager = new TokenManager({ host: server.url, store, interactive: false, retry });
    await manager.getToken();
    const lockTtlAtKill = Number(await client.pttl(`{oidc-auth:${namespace}}:lock:${server.url}`));
    holder.child.kill('SIGKILL');
    const killed = performance.now();
    await holder.exited;
    manager.invalidate();
    await manager.getToken();
    const takeoverMs = Math.round(performance.now() - killed);
    const stats = server.stats();
    manager.close();
    await Promise.all([store.close(), server.close()]);
    return {
      leaseMs,
      /** What was left of the dead holder's lease when it was killed. */
      lockTtlAtKillMs: lockTtlAtKill,
      /** From the kill until another process had refreshed and stored the token. */
      takeoverMs,
      /** Of which after the dead holder's lease ended: the waiter's wake-up and the refresh. */
      afterLeaseEndMs: takeoverMs - lockTtlAtKill,
      refreshCalls: stats.grants.refresh_token,
      reuseDetected: stats.reuseDetected,
    };
  });
}

/**
 * A holder SIGSTOPped past its lease, then resumed: once before it refreshed (it must adopt the
 * other's token) and once just before it writes (the fence must refuse the write).
 */
export async function pausedHolder(leaseMs: number) {
  return withServers(async (redis, client) => {
    const server = await startMockServer({ rotation: true, reuseDetection: true });
    const namespace = randomUUID();
    const store = new RedisTokenStore({ client, namespace, plaintext: true });
    await store.put(server.url, issued(server));

    const paused = startWorker([redis.url, namespace, server.url, 'paused-lock', String(leaseMs)]);
    await paused.line(); // "locked"
    paused.child.kill('SIGSTOP');
    const manager = new TokenManager({ host: server.url, store, interactive: false, retry });
    await manager.getToken();
    manager.invalidate();
    const refreshed = await manager.getToken();
    paused.child.kill('SIGCONT');
    paused.send('go');
    const resumed = JSON.parse(await paused.line()) as { ok: boolean; access_token?: string };
    await paused.exited;

    const writer = startWorker([redis.url, namespace, server.url, 'hold', String(leaseMs)]);
    await writer.line(); // "locked"
    writer.child.kill('SIGSTOP');
    await store.put(server.url, refreshed); // waits out the frozen lease
    writer.child.kill('SIGCONT');
    writer.send('put stale');
    const write = await writer.line();
    await writer.exited;
    const stats = server.stats();
    manager.close();
    await Promise.all([store.close(), server.close()]);
    return {
      leaseMs,
      resumedHolderAdopted: resumed.ok && resumed.access_token === refreshed.access_token,
      staleWrite: write,
      logouts: resumed.ok ? 0 : 1,
      refreshCalls: stats.grants.refresh_token,
      reuseDetected: stats.reuseDetected,
    };
  });
}

/**
 * `authorization()` with a valid token: the Redis store against the memory store, calls per
 * second, interleaved trials in this process; the request path never reaches the store.
 */
export async function authorizationWithRedis(trials: number, calls: number) {
  return withServers(async (_redis, client) => {
    const server = await startMockServer();
    const token = issued(server);
    const redisStore = new RedisTokenStore({ client, namespace: randomUUID(), plaintext: true });
    const memoryStore = new MemoryTokenStore();
    await Promise.all([redisStore.put(server.url, token), memoryStore.put(server.url, token)]);
    const make = (store: TokenStore) =>
      new TokenManager({ host: server.url, store, interactive: false });
    const managers = { memory: make(memoryStore), redis: make(redisStore) };
    await Promise.all(Object.values(managers).map((m) => m.authorization()));
    const rates: Record<'memory' | 'redis', number[]> = { memory: [], redis: [] };
    for (let trial = 0; trial < trials; trial++) {
      for (const name of ['memory', 'redis'] as const) {
        const manager = managers[name];
        const started = performance.now();
        for (let i = 0; i < calls; i++) await manager.authorization();
        rates[name].push(calls / ((performance.now() - started) / 1000));
      }
    }
    for (const manager of Object.values(managers)) manager.close();
    await Promise.all([redisStore.close(), server.close()]);
    const median = (values: number[]) => percentile(values, 50);
    return {
      trials,
      calls,
      memoryPerSecond: Math.round(median(rates.memory)),
      redisPerSecond: Math.round(median(rates.redis)),
      ratio: Math.round((median(rates.redis) / median(rates.memory)) * 100) / 100,
    };
  });
}
