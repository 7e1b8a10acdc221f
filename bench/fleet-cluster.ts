// The fleet's fault run at scale (issue 34 item 5): N worker processes (half ioredis, half
// node-redis) on a real Redis Cluster of 3 primaries with 2 replicas each, the store WAITing for
// one replica (`replicas: 1`). Every cycle is a 401 storm (one refresh, the others adopt). In
// the middle of one refresh the slot of the store's hash tag moves to another primary; later,
// in the middle of another, the primary serving it is SIGKILLed and a replica takes over
// (cluster-node-timeout 2 s here). Counted: refreshes, logouts (a recovery that ended in
// OIDC_LOGIN_REQUIRED, or a refresh token reused), other failures by code, how long from the
// kill until a whole cycle succeeded again, and the Redis commands per process per cycle in the
// quiet cycles before the faults and after them (the primaries' own counters).
import { randomBytes, randomUUID } from 'node:crypto';
import { startMockServer } from '@oidc-auth/mock-server';
import { RedisTokenStore } from '@oidc-auth/redis';
import { Cluster } from 'ioredis';
import { call, lockSeen, startCluster } from '../packages/redis/test/topology.js';
import { issued, percentile, startWorker, type Worker } from './fleet.js';

type Answer = { ok: boolean; code?: string; access_token?: string };

/** The ports of the nodes that are primaries now (`ROLE`; a node that does not answer is not). */
async function primaries(ports: number[]): Promise<number[]> {
  const roles = await Promise.all(
    ports.map((port) =>
      call(port, 'ROLE').then(
        (role) => (role as string[])[0],
        () => 'down',
      ),
    ),
  );
  return ports.filter((_, i) => roles[i] === 'master');
}
/** The commands the nodes on `ports` have processed between them, their own INFO left out. */
async function commandsOf(ports: number[]): Promise<number> {
  const infos = await Promise.all(ports.map((port) => call(port, 'INFO', 'stats')));
  // Each INFO counts itself once.
  const counted = infos.map((info) =>
    Number(/total_commands_processed:(\d+)/.exec(String(info))?.[1]),
  );
  return counted.reduce((a, b) => a + b, 0) - ports.length;
}

/** `OIDC_BENCH_PROGRESS=1`: a line per step on stderr. */
const progress = (line: string) => {
  if (process.env.OIDC_BENCH_PROGRESS) process.stderr.write(`${line}\n`);
};

/** `promise`, or an error saying `why()` once `ms` have passed: a fault run never hangs. */
async function withDeadline<T>(promise: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function clusterFault(workers: number, cycles = 24) {
  const cluster = await startCluster(3, 2);
  const ports = cluster.nodes.map((n) => n.port);
  for (const port of ports) await call(port, 'CONFIG', 'SET', 'cluster-node-timeout', '2000');
  const server = await startMockServer({ rotation: true, reuseDetection: true });
  const seedClient = new Cluster([{ host: '127.0.0.1', port: ports[0] as number }]);
  seedClient.on('error', () => undefined);
  const namespace = randomUUID();
  // Encrypted, as the store is by default (its announcements then carry the entry).
  const key = randomBytes(32).toString('base64');
  const seed = new RedisTokenStore({
    client: seedClient,
    namespace,
    encryptionKey: { id: 'k1', key },
  });
  const fleet: Worker[] = [];
  try {
    await seed.put(server.url, issued(server));
    const tag = `{oidc-auth:${namespace}}`;
    const lockKey = `${tag}:lock:${server.url}`;
    const slot = await cluster.slotOf(tag);
    const env = (i: number) => ({
      OIDC_TEST_REDIS_CLIENT: i % 2 ? 'node-redis-cluster' : 'ioredis-cluster',
      OIDC_TEST_REDIS_REPLICAS: '1',
      OIDC_TEST_REDIS_KEY: key,
    });
    // Started 16 at a time: 128 processes starting at once on 2 cores (each transpiling its
    // sources, each discovering the cluster) miss the store's 5 s command timeout on their
    // first read. The storm below is what is measured, not the start.
    for (let i = 0; i < workers; i += 16) {
      const batch = Array.from({ length: Math.min(16, workers - i) }, (_, k) =>
        startWorker(
          [cluster.url, namespace, server.url, 'cycles'],
          (l) => l.startsWith('{"adopted"'),
          env(i + k),
        ),
      );
      fleet.push(...batch);
      for (const worker of batch) {
        const ready = await Promise.race([worker.line(), worker.exited.then(() => undefined)]);
        if (ready !== 'ready') throw new Error(`a worker did not start: ${worker.stderr()}`);
      }
    }
    progress(`${workers} processes ready`);

    const quiet = { before: { commands: 0, cycles: 0 }, after: { commands: 0, cycles: 0 } };
    const failedBy: Record<string, number> = {};
    const cycleMs: number[] = [];
    let moved: { from: number; to: number } | undefined;
    let killed: { port: number; at: number } | undefined;
    let backAfterKillMs: number | undefined;
    let logouts = 0;
    const migrateAt = Math.floor(cycles / 4);
    const killAt = Math.floor(cycles / 2);
    const quietAfter = cycles - Math.floor(cycles / 4);
    for (let cycle = 0; cycle < cycles; cycle++) {
      const window =
        cycle < migrateAt ? quiet.before : cycle >= quietAfter && killed ? quiet.after : undefined;
      const counted = window ? await primaries(ports) : [];
      const commandsBefore = window ? await commandsOf(counted) : 0;
      const started = performance.now();
      for (const worker of fleet) worker.send('go');
      let answered = 0;
      const answers = Promise.all(
        fleet.map(async (w) => {
          const line = JSON.parse(await w.line()) as Answer;
          answered++;
          return line;
        }),
      );
      const owner = await cluster.ownerOf(slot).catch(() => 0);
      if (cycle >= migrateAt && !moved && (await lockSeen(owner, lockKey, answers))) {
        moved = { from: owner, to: await cluster.migrate(slot) };
      } else if (cycle >= killAt && moved && !killed && (await lockSeen(owner, lockKey, answers))) {
        killed = { port: owner, at: performance.now() };
        await cluster.nodes.find((n) => n.port === owner)?.stop();
      }
      const results = await withDeadline(answers, 120_000, () => {
        return `cycle ${cycle}: ${workers - answered} of ${workers} processes never answered in 120 s`;
      });
      progress(
        `cycle ${cycle}: ${Math.round(performance.now() - started)} ms, ${results.filter((r) => !r.ok).length} failed${moved ? ', slot moved' : ''}${killed ? ', primary killed' : ''}`,
      );
      cycleMs.push(performance.now() - started);
      for (const r of results.filter((a) => !a.ok)) {
        const code = r.code ?? 'unknown';
        failedBy[code] = (failedBy[code] ?? 0) + 1;
        if (code === 'OIDC_LOGIN_REQUIRED') logouts++;
      }
      if (killed && backAfterKillMs === undefined && results.every((r) => r.ok)) {
        backAfterKillMs = Math.round(performance.now() - killed.at);
      }
      if (window) {
        window.commands += (await commandsOf(counted)) - commandsBefore;
        window.cycles++;
      }
    }
    const stats = server.stats();
    const perProcessPerCycle = (w: { commands: number; cycles: number }) =>
      w.cycles ? Math.round((w.commands / workers / w.cycles) * 100) / 100 : null;
    return {
      workers,
      cycles,
      topology: '3 primaries × 2 replicas, replicas: 1, cluster-node-timeout 2000 ms',
      slotMovedDuringRefresh: moved !== undefined,
      primaryKilledDuringRefresh: killed !== undefined,
      refreshCalls: stats.grants.refresh_token,
      logouts,
      reuseDetected: stats.reuseDetected,
      failedBy,
      backAfterKillMs: backAfterKillMs ?? null,
      cycleMsP50: percentile(cycleMs, 50),
      cycleMsMax: percentile(cycleMs, 100),
      redisCommandsPerProcessPerCycle: {
        beforeFaults: perProcessPerCycle(quiet.before),
        afterFaults: perProcessPerCycle(quiet.after),
      },
    };
  } finally {
    for (const worker of fleet) worker.child.stdin.end();
    await Promise.all(fleet.map((w) => w.exited));
    await seed.close();
    seedClient.disconnect();
    await server.close();
    await cluster.close();
  }
}
