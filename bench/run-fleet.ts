// pnpm bench:fleet: the Redis store's fleet figures (needs Debian's redis-server); merged into
// bench/results.json next to the figures of `pnpm bench`.
import { readFile, writeFile } from 'node:fs/promises';
import { authorizationWithRedis, fleetRefresh, killedHolder, pausedHolder } from './fleet.js';

const file = new URL('./results.json', import.meta.url);
const results = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<
  string,
  unknown
>;

function report(name: string, value: unknown): void {
  results[name] = value;
  console.log(`${name}: ${JSON.stringify(value)}`);
}

results['fleet.date'] = new Date().toISOString();
report('fleet.refresh', await fleetRefresh(32, 20));
// The biggest fleet this 2-core machine holds without the fleet's start-up dominating: 128
// processes (each ~60 MB; ~8 GB in all).
report('fleet.refresh128', await fleetRefresh(128, 20));
report('fleet.killedHolder', await killedHolder(2_000));
report('fleet.pausedHolder', await pausedHolder(1_000));
report('fleet.authorization', await authorizationWithRedis(9, 200_000));

await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log('written: bench/results.json');
