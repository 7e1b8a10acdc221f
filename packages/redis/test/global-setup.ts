import type { TestProject } from 'vitest/node';
import { type RedisServer, requireRedisServer, startRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared standalone server. */
    redisUrl: string;
    /** The shared one-node Redis Cluster. */
    redisClusterUrl: string;
    /** A Sentinel (port) watching a master of its own, `mymaster`. */
    redisSentinelPort: number;
    /** `redis-server --version`, for the report. */
    redisVersion: string;
  }
}

let servers: RedisServer[] = [];

/** One standalone server and one one-node cluster for the whole run; stopped at the end. */
export async function setup(project: TestProject): Promise<void> {
  const version = requireRedisServer();
  const [standalone, cluster, master] = await Promise.all([
    startRedis(),
    startRedis({ cluster: true }),
    startRedis(),
  ]);
  const sentinel = await startRedis({ sentinelOf: master.port });
  servers = [standalone, cluster, master, sentinel];
  project.provide('redisSentinelPort', sentinel.port);
  project.provide('redisUrl', standalone.url);
  project.provide('redisClusterUrl', cluster.url);
  project.provide('redisVersion', version);
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((server) => server.close()));
}
