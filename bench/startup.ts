// Start-up cost, against a bare `node -e 0` measured in the same run (variants interleaved,
// median of N): importing @oidc-auth/core, and `oidc-auth token HOST` with a fresh stored token
// (its check against the server included, on loopback). Both run the built packages
// (`pnpm build` first), as users run them.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMockServer } from '@oidc-auth/mock-server';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/oidc-auth.js');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = process.hrtime.bigint();
  // No --conditions: the built packages, as an installed copy resolves them.
  await run(process.execPath, args, { cwd: root, env });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function startup(trials = 15) {
  const server = await startMockServer({ accessTtl: 3600 });
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-bench-startup-'));
  try {
    const file = join(dir, 'token-store.json');
    const issued = server.issueToken();
    const token = { ...issued, headers: { Authorization: `Bearer ${issued.access_token}` } };
    await writeFile(
      file,
      JSON.stringify({ [server.url]: { token, stored_at: Date.now() / 1000 } }),
      {
        mode: 0o600,
      },
    );
    const { NODE_OPTIONS: _, ...clean } = process.env;
    const env = { ...clean, OIDC_TOKEN_FILE: file };
    const variants: Record<string, string[]> = {
      'node -e 0': ['-e', '0'],
      "import('@oidc-auth/core')": ['-e', "import('@oidc-auth/core')"],
      'oidc-auth token (fresh token)': [bin, 'token', server.url],
    };
    const times: Record<string, number[]> = Object.fromEntries(
      Object.keys(variants).map((name) => [name, []]),
    );
    for (const args of Object.values(variants)) await timed(args, env); // warm the disk cache
    for (let trial = 0; trial < trials; trial++) {
      for (const [name, args] of Object.entries(variants))
        times[name]?.push(await timed(args, env));
    }
    const base = median(times['node -e 0'] as number[]);
    return Object.fromEntries(
      Object.entries(times).map(([name, values]) => [
        name,
        {
          medianMs: Number(median(values).toFixed(1)),
          ratio: Number((median(values) / base).toFixed(2)),
        },
      ]),
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
