// pnpm bench:fleet:compare DIR [SIZES] [TRIALS]: the fleet's 401 storm (every process recovers
// from a 401 at once; one refresh per cycle, the others adopt) of this checkout side by side
// with another checkout (DIR, e.g. `git worktree add ../before <ref>` with its own install), the
// trees alternating inside every round: Redis commands per process per cycle, cycle time and
// adoption p99 (with its floor: a bare pub/sub message to every process, measured in the same
// processes), per fleet size. Needs Debian's redis-server. SIZES: e.g. 8,32,128.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const [otherArg, sizesArg = '8,32,128', trialsArg = '2'] = process.argv.slice(2);
if (!otherArg || !existsSync(resolve(otherArg, 'bench/fleet.ts'))) {
  process.stderr.write(
    'usage: pnpm bench:fleet:compare DIR [SIZES] [TRIALS] — DIR: another checkout of this project, installed\n',
  );
  process.exit(2);
}
const other = resolve(otherArg);
const sizes = sizesArg.split(',').map(Number);
const trials = Number(trialsArg);

type Figures = {
  commands: number;
  cycleMs: number;
  adoptionP99: number;
  floorP99: number;
  logouts: number;
  reuse: number;
};

/** One storm of `size` processes × 20 cycles, in `tree`'s own code and its own Node process. */
function storm(tree: string, size: number): Figures {
  const script = `const { fleetRefresh } = await import(${JSON.stringify(`${tree}/bench/fleet.ts`)});
const r = await fleetRefresh(${size}, 20);
console.log(JSON.stringify({ commands: r.redisCommands.perProcessPerCycle, cycleMs: r.cycleMsP50, adoptionP99: r.adoption.p99Ms, floorP99: r.adoption.floor?.p99Ms ?? 0, logouts: r.logouts, reuse: r.reuseDetected }));
process.exit(0);`;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@oidc-auth/source', '--input-type=module', '-e', script],
    { cwd: tree, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Figures;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

for (const size of sizes) {
  const runs: Record<'this' | 'other', Figures[]> = { this: [], other: [] };
  for (let trial = 0; trial < trials; trial++) {
    const order = trial % 2 ? (['this', 'other'] as const) : (['other', 'this'] as const);
    for (const which of order) runs[which].push(storm(which === 'this' ? here : other, size));
  }
  const row = (which: 'this' | 'other') => {
    const r = runs[which];
    return `commands/process/cycle ${median(r.map((f) => f.commands)).toFixed(1)}, cycle p50 ${median(r.map((f) => f.cycleMs)).toFixed(0)} ms, adoption p99 ${median(r.map((f) => f.adoptionP99))} ms (its floor ${median(r.map((f) => f.floorP99))} ms), logouts ${r.reduce((n, f) => n + f.logouts, 0)}, reuse ${r.reduce((n, f) => n + f.reuse, 0)}`;
  };
  console.log(
    `${size} processes (median of ${trials}): this ${row('this')}; other ${row('other')}`,
  );
}
