// Real Redis topologies on loopback for the fleet tests: a Cluster of primaries and replicas
// made by `redis-cli --cluster create`, with a slot migration (MIGRATING/IMPORTING, MIGRATE,
// SETSLOT NODE: what `redis-cli --cluster reshard` does), and a Sentinel group whose primary
// can be killed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from './redis-server.js';

const run = promisify(execFile);

const connections = new Map<number, Redis>();

/**
 * One command to one node, on a connection kept per port (the waits below check once per round
 * trip, so a connection each would leave thousands of sockets behind). A connection that fails
 * is dropped and never reconnects: the next call opens a new one.
 */
export async function call(port: number, ...args: Array<string | number>): Promise<unknown> {
  let client = connections.get(port);
  if (!client) {
    const fresh = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    fresh.on('error', () => undefined);
    fresh.on('end', () => {
      if (connections.get(port) === fresh) connections.delete(port);
    });
    connections.set(port, fresh);
    client = fresh;
  }
  try {
    if (client.status === 'wait') await client.connect();
    return await client.call(String(args[0]), ...args.slice(1).map(String));
  } catch (error) {
    if (client.status !== 'ready') {
      connections.delete(port);
      client.disconnect();
    }
    throw error;
  }
}

/** Closes the kept connections to these ports. */
/**
 * Checks, once per round trip, for the lock a refreshing process holds: true once `key` exists
 * on `port`, false if `done` (the cycle's answers) settles first — a refresh can be over before
 * the first check, and then the next cycle is the one to catch. A node that does not answer
 * (killed) counts as not holding it.
 */
export async function lockSeen(
  port: number,
  key: string,
  done: Promise<unknown>,
): Promise<boolean> {
  let finished = false;
  const finish = () => {
    finished = true;
  };
  done.then(finish, finish);
  while (!finished) {
    if ((await call(port, 'EXISTS', key).catch(() => 0)) === 1) return true;
  }
  return false;
}

function hangUp(ports: number[]): void {
  for (const port of ports) {
    connections.get(port)?.disconnect();
    connections.delete(port);
  }
}

/** Resolves when `condition` holds, checking once per round trip (never a timed sleep). */
async function waitFor(what: string, condition: () => Promise<boolean>, rounds = 2_000_000) {
  for (let round = 0; !(await condition()); round++) {
    if (round >= rounds) throw new Error(`${what}: not after ${rounds} checks`);
  }
}

interface ClusterNode {
  id: string;
  port: number;
  primary: boolean;
  slots: Array<[number, number]>;
}

async function nodesOf(port: number): Promise<ClusterNode[]> {
  const text = String(await call(port, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', , , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        primary: flags.split(',').includes('master'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [from = 0, to = from] = s.split('-').map(Number);
            return [from, to] as [number, number];
          }),
      };
    });
}

export interface RedisCluster {
  /** A node to start from (`redis://127.0.0.1:PORT`): clients discover the others. */
  url: string;
  nodes: RedisServer[];
  /** The slot of a key (`CLUSTER KEYSLOT`). */
  slotOf(key: string): Promise<number>;
  /** The port of the primary that serves `slot` now. */
  ownerOf(slot: number): Promise<number>;
  /**
   * Moves `slot` to another primary, key by key, as `redis-cli --cluster reshard` does: the
   * target IMPORTING and the source MIGRATING (clients get ASK for keys already moved, and
   * TRYAGAIN for a script whose keys are split), each key MIGRATEd (`onKeyMoved` runs after
   * each one), then SETSLOT NODE on every primary (clients get MOVED). Returns the new owner.
   */
  migrate(slot: number, onKeyMoved?: () => Promise<void>): Promise<number>;
  close(): Promise<void>;
}

/** A Redis Cluster of `primaries` primaries with `replicas` replicas each, ready to serve. */
export async function startCluster(primaries = 3, replicas = 1): Promise<RedisCluster> {
  const nodes = await Promise.all(
    Array.from({ length: primaries * (1 + replicas) }, () => startRedis({ cluster: 'node' })),
  );
  try {
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    // Every node sees every other and calls the cluster healthy.
    for (const node of nodes) {
      await waitFor(`node ${node.port} joining`, async () => {
        const info = String(await call(node.port, 'CLUSTER', 'INFO'));
        return (
          info.includes('cluster_state:ok') &&
          info.includes(`cluster_known_nodes:${nodes.length}`) &&
          info.includes('cluster_slots_ok:16384')
        );
      });
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
  const first = nodes[0] as RedisServer;
  const ownerOf = async (slot: number) => {
    const owner = (await nodesOf(first.port)).find(
      (n) => n.primary && n.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!owner) throw new Error(`no primary serves slot ${slot}`);
    return owner.port;
  };
  return {
    url: first.url,
    nodes,
    slotOf: async (key) => Number(await call(first.port, 'CLUSTER', 'KEYSLOT', key)),
    ownerOf,
    async migrate(slot, onKeyMoved) {
      const view = await nodesOf(first.port);
      const sourcePort = await ownerOf(slot);
      const source = view.find((n) => n.port === sourcePort) as ClusterNode;
      const target = view.find((n) => n.primary && n.port !== sourcePort) as ClusterNode;
      await call(target.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
      await call(source.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
      for (;;) {
        const keys = (await call(source.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 1)) as string[];
        if (keys.length === 0) break;
        await call(source.port, 'MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
        await onKeyMoved?.();
      }
      // The target first, then the source, then the other primaries (redis-cli's order).
      const others = view.filter((n) => n.primary && n.id !== source.id && n.id !== target.id);
      for (const node of [target, source, ...others]) {
        await call(node.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
      }
      await waitFor('the slot moving', async () => (await ownerOf(slot)) === target.port);
      return target.port;
    },
    close: async () => {
      hangUp(nodes.map((n) => n.port));
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}

export interface SentinelGroup {
  primary: RedisServer;
  replicas: RedisServer[];
  sentinels: RedisServer[];
  /** `redis://127.0.0.1:PORT` of the first Sentinel (clients are given all three). */
  sentinelPorts: number[];
  /** The port Sentinel names as the primary of `mymaster` now. */
  primaryPort(): Promise<number>;
  close(): Promise<void>;
}

/**
 * One primary, `replicas` replicas and three Sentinels (quorum 2) that call the primary down
 * after `downAfterMs` of silence and fail over to a replica.
 */
export async function startSentinelGroup(replicas = 2, downAfterMs = 1000): Promise<SentinelGroup> {
  const primary = await startRedis();
  const replicaServers = await Promise.all(
    Array.from({ length: replicas }, () => startRedis({ replicaOf: primary.port })),
  );
  const servers = [primary, ...replicaServers];
  try {
    // Both replicas in sync with the primary before the Sentinels look.
    await waitFor('replicas syncing', async () => {
      const info = String(await call(primary.port, 'INFO', 'replication'));
      return (info.match(/state=online/g) ?? []).length === replicas;
    });
    const sentinels = await Promise.all(
      [0, 1, 2].map(() => startRedis({ sentinelOf: primary.port, quorum: 2, downAfterMs })),
    );
    servers.push(...sentinels);
    // Every Sentinel knows the replicas and the other Sentinels.
    for (const sentinel of sentinels) {
      await waitFor('sentinels discovering', async () => {
        const [master] = (await call(sentinel.port, 'SENTINEL', 'MASTERS')) as string[][];
        const field = (name: string) => Number(master?.[(master?.indexOf(name) ?? -2) + 1]);
        return field('num-slaves') === replicas && field('num-other-sentinels') === 2;
      });
    }
    const sentinelPorts = sentinels.map((s) => s.port);
    return {
      primary,
      replicas: replicaServers,
      sentinels,
      sentinelPorts,
      async primaryPort() {
        for (const port of sentinelPorts) {
          try {
            const [, found] = (await call(
              port,
              'SENTINEL',
              'GET-MASTER-ADDR-BY-NAME',
              'mymaster',
            )) as string[];
            return Number(found);
          } catch {
            // This Sentinel is down: ask the next.
          }
        }
        throw new Error('no Sentinel answered');
      },
      close: async () => {
        hangUp(servers.map((s) => s.port));
        await Promise.all(servers.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
}
