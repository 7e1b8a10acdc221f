import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./hot-path-worker.ts', import.meta.url));

/** Each client: the baseline (fixed header, no helper) first, then the helpers measured against it. */
export const hotPathVariants: Record<string, string[]> = {
  fetch: [
    'fetch:bare',
    'fetch:oidc-auth',
    'fetch:oidc-auth-dpop',
    'fetch:oidc-auth-otel',
    'fetch:@badgateway/oauth2-client',
    'fetch:bare-after-login',
  ],
  axios: ['axios:bare', 'axios:oidc-auth', 'axios:oidc-auth-dpop', 'axios:axios-auth-refresh'],
  ky: ['ky:bare', 'ky:oidc-auth', 'ky:oidc-auth-dpop'],
  got: ['got:bare', 'got:oidc-auth', 'got:oidc-auth-dpop'],
  undici: ['undici:bare', 'undici:oidc-auth', 'undici:oidc-auth-dpop'],
};

interface Trial {
  cpuMicrosPerRequest: number;
  heapBytesPerRequest: number;
}

/**
 * One trial of `variant` in its own process: the worker of this checkout, or of `tree` (another
 * checkout, for `pnpm bench:compare`), run from that tree so it loads that tree's sources.
 */
export async function trial(variant: string, requests: number, tree?: string): Promise<Trial> {
  const { stdout } = await run(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=@oidc-auth/source',
      tree ? 'bench/hot-path-worker.ts' : worker,
      variant,
      String(requests),
    ],
    { maxBuffer: 1 << 20, ...(tree ? { cwd: tree } : {}) },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Trial;
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    median: round(median),
    min: round(sorted[0] ?? 0),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

/**
 * CPU time per request over an in-process fake transport, one process per trial, variants
 * interleaved (A B C A B C …) so that the machine's drift hits all of them alike. "added" is,
 * per trial, the variant minus the baseline of the same round; reported as median (min–max).
 * The heap figure is the growth per request over the measured requests, after a forced GC.
 */
export async function hotPath(trials = 7, requests = 20_000) {
  const all = Object.values(hotPathVariants).flat();
  const samples = new Map<string, Trial[]>(all.map((v) => [v, []]));
  for (let t = 0; t < trials; t++) {
    for (const variant of all) samples.get(variant)?.push(await trial(variant, requests));
  }
  const result: Record<string, unknown> = {};
  for (const variants of Object.values(hotPathVariants)) {
    const baseline = samples.get(variants[0] ?? '') ?? [];
    for (const variant of variants) {
      const mine = samples.get(variant) ?? [];
      result[variant] = {
        microsPerRequest: stats(mine.map((s) => s.cpuMicrosPerRequest)),
        addedMicrosPerRequest: stats(
          mine.map((s, i) => s.cpuMicrosPerRequest - (baseline[i]?.cpuMicrosPerRequest ?? 0)),
        ),
        heapBytesPerRequest: stats(mine.map((s) => s.heapBytesPerRequest)),
      };
    }
  }
  return { trials, requests, transport: 'in-process fake', variants: result };
}

/** The heap growth of our adapters over 100,000 requests (one trial each). */
export async function heapGrowth(requests = 100_000) {
  const result: Record<string, number> = {};
  for (const variant of ['fetch:oidc-auth', 'axios:oidc-auth', 'ky:oidc-auth', 'got:oidc-auth']) {
    const { heapBytesPerRequest } = await trial(variant, requests);
    result[variant] = Math.round(heapBytesPerRequest * 100) / 100;
  }
  return { requests, heapBytesPerRequest: result };
}
