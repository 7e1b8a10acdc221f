// pnpm bench:fleet: the Redis store's fleet figures (needs Debian's redis-server); merged into
// bench/results.json next to the figures of `pnpm bench`.
import { readFile, writeFile } from 'node:fs/promises';
import { authorizationWithRedis, fleetRefresh, killedHolder, pausedHolder } from './fleet.js';
import { clusterFault } from './fleet-cluster.js';

const file = new URL('./results.json', import.meta.url);
const results = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<
  string,
  unknown
>;

// `pnpm bench:fleet [NAME…]`: only the figures named (e.g. `cluster128`); none: all of them.
const only = process.argv.slice(2);
async function report(name: string, run: () => Promise<unknown>): Promise<void> {
  if (only.length > 0 && !only.includes(name)) return;
  const value = await run();
  results[`fleet.${name}`] = value;
  console.log(`fleet.${name}: ${JSON.stringify(value)}`);
}

results['fleet.date'] = new Date().toISOString();
await report('refresh', () => fleetRefresh(32, 20));
// The biggest fleet this 2-core machine holds without the fleet's start-up dominating: 128
// processes (each ~60 MB; ~8 GB in all).
await report('refresh128', () => fleetRefresh(128, 20));
await report('killedHolder', () => killedHolder(2_000));
await report('pausedHolder', () => pausedHolder(1_000));
await report('authorization', () => authorizationWithRedis(9, 200_000));
// 128 processes on a 3-primary Cluster: a slot migration and a primary killed mid-storm.
await report('cluster128', () => clusterFault(128));

await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log('written: bench/results.json');
