// pnpm bench:compare DIR: the adapters' hot path of this checkout side by side with another
// checkout of the project (DIR, e.g. a `git worktree add ../before <ref>` with its own
// `pnpm install`), in one run: the same worker file of each tree in its own process, the trees
// alternating inside every round (A B, then B A) so that the machine's drift hits both alike.
// Prints, per variant, each tree's median CPU µs per request and the ratio (this / other).
// Usage: pnpm bench:compare DIR [TRIALS] [REQUESTS] [CLIENT] (CLIENT: fetch, axios, ky or got).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trial } from './hot-path.js';

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const [otherArg, trialsArg = '9', requestsArg = '20000', only] = process.argv.slice(2);
if (!otherArg || !existsSync(resolve(otherArg, 'bench/hot-path-worker.ts'))) {
  process.stderr.write(
    'usage: pnpm bench:compare DIR [TRIALS] [REQUESTS] — DIR: another checkout of this project, installed (git worktree add DIR REF && pnpm -C DIR install)\n',
  );
  process.exit(2);
}
const other = resolve(otherArg);
const trials = Number(trialsArg);
const requests = Number(requestsArg);
const all = [
  'fetch:bare',
  'fetch:oidc-auth',
  'fetch:oidc-auth-dpop',
  'axios:oidc-auth',
  'axios:oidc-auth-dpop',
  'ky:oidc-auth',
  'ky:oidc-auth-dpop',
  'got:oidc-auth',
  'got:oidc-auth-dpop',
];
/** `only`: a client's variants alone (`axios`: with its own bare baseline). */
const variants = only
  ? [`${only}:bare`, ...all.filter((v) => v.startsWith(`${only}:`) && v !== `${only}:bare`)]
  : all;

/** CPU µs per request of `variant` in `tree`'s own worker. */
const micros = async (tree: string, variant: string) =>
  (await trial(variant, requests, tree)).cpuMicrosPerRequest;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const samples = new Map(variants.map((v) => [v, { here: [] as number[], other: [] as number[] }]));
for (let round = 0; round < trials; round++) {
  for (const variant of variants) {
    const sample = samples.get(variant) as { here: number[]; other: number[] };
    const order = round % 2 === 0 ? (['here', 'other'] as const) : (['other', 'here'] as const);
    for (const which of order)
      sample[which].push(await micros(which === 'here' ? here : other, variant));
  }
}
const round2 = (n: number) => Math.round(n * 100) / 100;
const result: Record<string, unknown> = {};
for (const [variant, { here: mine, other: theirs }] of samples) {
  const ratios = mine.map((value, i) => value / (theirs[i] ?? value));
  result[variant] = {
    thisMicros: round2(median(mine)),
    otherMicros: round2(median(theirs)),
    ratio: round2(median(ratios)),
    ratioRange: [round2(Math.min(...ratios)), round2(Math.max(...ratios))],
  };
}
process.stdout.write(`${JSON.stringify({ other, trials, requests, variants: result }, null, 2)}\n`);
