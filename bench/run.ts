// pnpm bench: prints each figure and writes bench/results.json. Ratios are against a baseline
// measured in the same run, so they compare across machines; absolute numbers do not.
import { readFile, writeFile } from 'node:fs/promises';
import { adapterOverhead, packageSizes, pollsAfterApproval } from './adapters.js';
import { authorizationThroughput, crossProcessRefresh, refreshStorm } from './core.js';
import { diagnosticsCost } from './diagnostics.js';
import { fileFleet } from './file-fleet.js';
import { heapGrowth, hotPath } from './hot-path.js';
import { manySessions } from './sessions.js';
import { startup } from './startup.js';

// Kept: what `pnpm bench:fleet` (fleet.*, needs Redis) and `pnpm bench:browser` (browser.*,
// needs a browser) measured. `pnpm bench NAME…` runs only those figures (e.g. sessions.many)
// and keeps the others as they were.
const only = process.argv.slice(2);
const file = new URL('./results.json', import.meta.url);
const previous = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<
  string,
  unknown
>;
const results: Record<string, unknown> = {
  ...Object.fromEntries(
    Object.entries(previous).filter(
      ([key]) => only.length > 0 || key.startsWith('fleet.') || key.startsWith('browser.'),
    ),
  ),
  node: process.version,
  date: new Date().toISOString(),
};

async function report(name: string, measure: () => Promise<unknown> | unknown): Promise<void> {
  if (only.length > 0 && !only.includes(name)) return;
  const value = await measure();
  results[name] = value;
  console.log(`${name}: ${JSON.stringify(value)}`);
}

await report('startup', () => startup(15));
await report('core.authorization', () => authorizationThroughput());
await report('core.refreshStorm', () => refreshStorm(1000));
await report('core.crossProcess', () => crossProcessRefresh(8));
await report('core.diagnostics', () => diagnosticsCost(7, 300));
await report('adapters.hotPath', () => hotPath(9, 20_000));
await report('adapters.heapGrowth', () => heapGrowth(100_000));
await report('adapters.loopback', () => adapterOverhead(2_000, 7));
await report('device.pollsAfterApproval', () => pollsAfterApproval(3));
await report('packages.size', () => packageSizes());
await report('sessions.many', () => manySessions([1_000, 10_000]));
await report('fleet.file', () => fileFleet([8, 32], 10));

await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log('written: bench/results.json');
