import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `pnpm test:redis`: the Redis store against a real redis-server (Debian's package:
 * `apt-get install -y redis-server`), started on a free loopback port by the global setup.
 * Never part of `pnpm test`, which needs only Node and npm; `.ci/run` installs Redis and runs it.
 *
 * Three groups, one after the other: the fleet file starts 32 processes at once and fills both
 * cores, so the lease and SIGSTOP tests never run beside it (they wait on child processes, and
 * a start-up slowed tenfold by the fleet once made one of them time out in CI); the topologies
 * (a 3+3 Cluster with a slot migration, a Sentinel failover) start their own servers and fleets,
 * after both.
 */
const redisProject = (name: string, include: string[], exclude: string[], groupOrder: number) => ({
  extends: true as const,
  test: {
    name,
    root: 'packages/redis',
    include,
    exclude,
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['../../vitest.setup.ts'],
    sequence: { groupOrder },
  },
});

export default mergeConfig(
  { ...base, test: { ...base.test, projects: [] } },
  defineConfig({
    test: {
      projects: [
        redisProject(
          'redis',
          ['test/**/*.test.ts'],
          ['test/fleet.test.ts', 'test/topologies.test.ts'],
          0,
        ),
        redisProject('redis-fleet', ['test/fleet.test.ts'], [], 1),
        redisProject('redis-topologies', ['test/topologies.test.ts'], [], 2),
      ],
    },
  }),
);
