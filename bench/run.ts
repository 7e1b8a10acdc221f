// pnpm bench: prints each figure and writes bench/results.json. Ratios are against a baseline
// measured in the same run, so they compare across machines; absolute numbers do not.
import { readFile, writeFile } from 'node:fs/promises';
import { adapterOverhead, packageSizes, pollsAfterApproval } from './adapters.js';
import { authorizationThroughput, crossProcessRefresh, refreshStorm } from './core.js';
import { diagnosticsCost } from './diagnostics.js';
import { heapGrowth, hotPath } from './hot-path.js';
import { startup } from './startup.js';

// Kept: what `pnpm bench:fleet` (fleet.*, needs Redis) and `pnpm bench:browser` (browser.*,
// needs Chromium) measured.
const file = new URL('./results.json', import.meta.url);
const previous = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<
  string,
  unknown
>;
const results: Record<string, unknown> = {
  ...Object.fromEntries(
    Object.entries(previous).filter(
      ([key]) => key.startsWith('fleet.') || key.startsWith('browser.'),
    ),
  ),
  node: process.version,
  date: new Date().toISOString(),
};

function report(name: string, value: unknown): void {
  results[name] = value;
  console.log(`${name}: ${JSON.stringify(value)}`);
}

report('startup', await startup(15));
report('core.authorization', await authorizationThroughput());
report('core.refreshStorm', await refreshStorm(1000));
report('core.crossProcess', await crossProcessRefresh(8));
report('core.diagnostics', await diagnosticsCost(7, 300));
report('adapters.hotPath', await hotPath(9, 20_000));
report('adapters.heapGrowth', await heapGrowth(100_000));
report('adapters.loopback', await adapterOverhead(2_000, 7));
report('device.pollsAfterApproval', await pollsAfterApproval(3));
report('packages.size', await packageSizes());

await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log('written: bench/results.json');
