import { randomUUID } from 'node:crypto';
import { type AuthError, ErrorCode, TokenManager } from '@oidc-auth/core';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { describe, it } from 'vitest';
import { startWorker, type Worker } from './child.js';
import { connect, defer, issued, makeStore, mock, until } from './helpers.js';
import { call, lockSeen, startCluster, startSentinelGroup } from './topology.js';

type Answer = { ok?: boolean; access_token?: string; code?: string };

/** The worker's next answer to "go", skipping its adoption reports. */
async function answer(worker: Worker): Promise<Answer> {
  for (;;) {
    const line = JSON.parse(await worker.line()) as Answer & { adopted?: boolean };
    if (!line.adopted) return line;
  }
}

describe('a fleet on a real Redis Cluster (3 primaries, 3 replicas)', () => {
  it("32 processes (ioredis and node-redis) × 20 refresh cycles while the slot of the store's hash tag moves to another primary: 20 refreshes, 0 logouts, 0 reuse", async ({
    expect,
  }) => {
    const cluster = await startCluster(3, 1);
    defer(() => cluster.close());
    const server = await mock();
    const namespace = randomUUID();
    const seed = makeStore(await connect('ioredis-cluster', cluster.url), { namespace });
    await seed.put(server.url, issued(server));
    const tag = `{oidc-auth:${namespace}}`;
    const slot = await cluster.slotOf(tag);
    const before = await cluster.ownerOf(slot);
    // The lock key the refresher holds while it refreshes.
    const lockKey = `${tag}:lock:${server.url}`;

    const workers = Array.from({ length: 32 }, (_, i) =>
      startWorker([cluster.url, namespace, server.url, 'cycles'], {
        OIDC_TEST_REDIS_CLIENT: i % 2 ? 'node-redis-cluster' : 'ioredis-cluster',
      }),
    );
    for (const worker of workers) expect(await worker.line()).toBe('ready');
    const failures: Answer[] = [];
    let movedDuringRefresh = false;
    const cycles = 20;
    let after = before;
    for (let cycle = 0; cycle < cycles; cycle++) {
      for (const worker of workers) worker.send('go');
      const answers = Promise.all(workers.map(answer));
      // From cycle 8, in the middle of a refresh: once a process holds the lock (its key exists
      // on the primary that serves the slot), move the slot, key by key, while it works.
      if (cycle >= 8 && !movedDuringRefresh && (await lockSeen(before, lockKey, answers))) {
        after = await cluster.migrate(slot);
        movedDuringRefresh = true;
      }
      const results = await answers;
      failures.push(...results.filter((r) => !r.ok));
      expect(new Set(results.map((r) => r.access_token)).size).toBe(1);
    }
    for (const worker of workers) worker.process.stdin.end();
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual(workers.map(() => 0));

    expect(movedDuringRefresh).toBe(true);
    expect(after).not.toBe(before);
    expect(await cluster.ownerOf(slot)).toBe(after);
    expect(failures).toEqual([]);
    expect(server.stats().grants.refresh_token).toBe(cycles);
    expect(server.stats().reuseDetected).toBe(0);

    // replicas: 1 on a Cluster: WAIT reaches the primary that wrote (ioredis asks every one).
    for (const kind of ['ioredis-cluster', 'node-redis-cluster'] as const) {
      const durable = makeStore(await connect(kind, cluster.url), { namespace, replicas: 1 });
      const token = issued(server);
      await durable.put(server.url, token);
      expect((await durable.get(server.url))?.token.access_token).toBe(token.access_token);
    }
  }, 180_000);
});

// One at a time: each is a fleet of 16 processes, and its failover time is a figure.
describe('a fleet through a Sentinel failover (1 primary, 2 replicas, 3 Sentinels)', () => {
  for (const replicas of [0, 1]) {
    it(`the primary killed in the middle of a refresh (replicas: ${replicas}): a new primary, only typed failures, and either the fleet served again with one refresh per cycle or the one known loss (a reused refresh token); the figures measured`, async ({
      annotate,
      expect,
    }) => {
      const figures = await failover(replicas);
      // Shown in the test report (and CI's log) beside the test's name.
      await annotate(`failover, replicas: ${replicas}: ${JSON.stringify(figures)}`);
      expect(figures.newPrimary).toBe(true);
      expect(figures.lockHeldWhenKilled).toBe(true);
      for (const code of Object.keys(figures.failedBy)) {
        expect(['OIDC_STORE_ERROR', 'OIDC_LOGIN_REQUIRED']).toContain(code);
      }
      if (figures.logouts === 0) {
        // Most runs: served again once the Sentinels agree, one refresh per cycle, no reuse.
        expect(figures.msUntilAllSucceed).toBeGreaterThan(0);
        expect(figures.reuseDetected).toBe(0);
        expect(figures.refreshes).toBe(figures.cycles);
      } else {
        // The loss seen before the write under the lock was tried again (about 1 run in 15; none
        // in 27 runs since; see the fleets guide): the refresh's new token did not reach the new
        // primary, the next refresher spent the old refresh token, and the provider's reuse
        // detection ended the login. Nothing else may log the fleet out.
        expect(figures.reuseDetected).toBe(1);
      }
    }, 180_000);
  }
});

// Both at once: one process each, mostly waiting for the Sentinels.
describe.concurrent('what a failover can lose (1 primary, 2 replicas, 3 Sentinels)', () => {
  for (const replicas of [0, 1]) {
    concurrentTest(
      replicas
        ? 'replicas: 1 — a lock no replica acknowledged is given back before anything is spent: the same failover costs nothing'
        : 'replicas: 0 — the cost: replicas cut off, a refresh stored on the primary only, the primary lost: the new primary has the spent refresh token, and the login is revoked',
      async ({ expect }) => {
        const group = await startSentinelGroup(2, 1000);
        defer(() => group.close());
        const server = await mock();
        const namespace = randomUUID();
        const sentinel = `redis://127.0.0.1:${group.sentinelPorts[0]}`;
        const options = { namespace, replicas, replicaTimeoutMs: 300 };
        await makeStore(await connect('ioredis-sentinel', sentinel), options).put(
          server.url,
          issued(server),
        );
        const first = new TokenManager({
          host: server.url,
          store: makeStore(await connect('ioredis-sentinel', sentinel), options),
          interactive: false,
        });
        defer(() => first.close());
        await first.getToken();
        // The replicas stop following: paused (SIGSTOP), and their links closed by the primary
        // (data already sent would wait in the kernel for them). What it takes now, they never get.
        for (const replica of group.replicas) replica.pause();
        await call(group.primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
        first.invalidate();
        const refreshed = await first.getToken().then(
          () => 'refreshed',
          (error: AuthError) => error.code,
        );
        const spent = server.stats().grants.refresh_token;
        await group.primary.stop();
        for (const replica of group.replicas) replica.resume();
        await until(async () => (await group.primaryPort()) !== group.primary.port);
        // Another process, after the failover.
        const second = new TokenManager({
          host: server.url,
          store: makeStore(await connect('ioredis-sentinel', sentinel), options),
          interactive: false,
        });
        defer(() => second.close());
        // Its access token is still valid: a 401 makes it refresh, with the stored refresh token.
        await second.getToken();
        second.invalidate();
        const after = await second.getToken().then(
          () => 'ok',
          (error: AuthError) => error.code,
        );
        if (replicas) {
          expect(refreshed).toBe(ErrorCode.STORE_ERROR); // the lock was not acknowledged
          expect(spent).toBe(0);
          expect(after).toBe('ok');
          expect(server.stats().reuseDetected).toBe(0);
        } else {
          expect(refreshed).toBe('refreshed');
          expect(spent).toBe(1);
          expect(after).toBe(ErrorCode.LOGIN_REQUIRED);
          expect(server.stats().reuseDetected).toBe(1);
        }
      },
      120_000,
    );
  }
});

/**
 * 16 processes (ioredis and node-redis Sentinel clients) in refresh cycles; in the fifth, the
 * primary is stopped while the provider holds the refresh request of the process that holds the
 * lock — in the middle of its refresh: its refresh token is spent once the provider answers,
 * and nothing the refresh produced has reached Redis; then on until four cycles in a row have
 * all succeeded. (It once stopped the primary when it saw the lock, a moment that raced the
 * refresh; a write Redis acknowledged but had not yet passed to a replica can be lost by a
 * failover — the cost the test of what a failover can lose shows.)
 */
async function failover(replicas: number) {
  const group = await startSentinelGroup(2, 1000);
  defer(() => group.close());
  const server = await mock();
  const namespace = randomUUID();
  const sentinels = `sentinel://127.0.0.1:${group.sentinelPorts.join(',')}`;
  const seed = makeStore(await connect('ioredis', group.primary.url), { namespace });
  await seed.put(server.url, issued(server));
  const lockKey = `{oidc-auth:${namespace}}:lock:${server.url}`;
  const workers = Array.from({ length: 16 }, (_, i) =>
    startWorker([sentinels, namespace, server.url, 'cycles'], {
      OIDC_TEST_REDIS_CLIENT: i % 2 ? 'node-redis-sentinel' : 'ioredis-sentinel',
      OIDC_TEST_REDIS_REPLICAS: String(replicas),
    }),
  );
  for (const worker of workers) {
    const line = await worker.line();
    if (line !== 'ready') throw new Error(`a worker did not start: ${line}`);
  }
  const answers: Answer[][] = [];
  let killedAt = 0;
  let lockHeld = false;
  let backAt = 0;
  let goodAfter = 0;
  const before = group.primary.port;
  for (let cycle = 0; goodAfter < 4 && cycle < 60; cycle++) {
    // Every cycle refreshes exactly once: in the fifth, the refresh request is held until the
    // primary is gone, and the lock its sender holds was seen there.
    if (cycle === 4) {
      server.fault({
        route: 'token',
        before: async () => {
          lockHeld = (await call(before, 'EXISTS', lockKey)) === 1;
          await group.primary.stop();
          killedAt = Date.now();
        },
      });
    }
    for (const worker of workers) worker.send('go');
    const pending = Promise.all(workers.map(answer));
    const results = await pending;
    answers.push(results);
    const allOk = results.every((r) => r.ok);
    if (killedAt && !backAt && allOk) backAt = Date.now();
    else if (backAt && allOk) goodAfter++;
  }
  for (const worker of workers) worker.process.stdin.end();
  await Promise.all(workers.map((w) => w.exited));
  const failed = answers.flat().filter((r) => !r.ok);
  return {
    processes: workers.length,
    cycles: answers.length,
    refreshes: server.stats().grants.refresh_token,
    logouts: failed.filter((r) => r.code === ErrorCode.LOGIN_REQUIRED).length,
    reuseDetected: server.stats().reuseDetected,
    requestsFailed: failed.length,
    failedBy: Object.fromEntries(
      [...new Set(failed.map((r) => r.code))].map((c) => [
        c,
        failed.filter((r) => r.code === c).length,
      ]),
    ),
    msUntilAllSucceed: backAt - killedAt,
    newPrimary: (await group.primaryPort()) !== before,
    lockHeldWhenKilled: lockHeld,
  };
}
