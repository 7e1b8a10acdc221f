// The file store's fleet figures (issue 34 item 3): N processes on one token file meet an
// invalid token at once, cycle after cycle, against the mock server with strict rotation and
// reuse detection. Per process and cycle: how many times it read the token file and tried the
// file's lock (the one refresher included), how many refreshes and logouts there were.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileTokenStore, parseTokenJson } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';

const child = fileURLToPath(new URL('./fixtures/file-fleet-child.ts', import.meta.url));

type Line = { ok: boolean; reads: number; lockTries: number };

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function fleet(processes: number, cycles: number) {
  const server = await startMockServer();
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-file-fleet-'));
  const path = join(dir, 'token-store.json');
  await new FileTokenStore({ path }).put(
    server.url,
    parseTokenJson(server.issueToken(), Date.now() / 1000),
  );
  const workers: Array<{ child: ChildProcessWithoutNullStreams; next(): Promise<string> }> = [];
  for (let i = 0; i < processes; i++) {
    const proc = spawn(process.execPath, [
      '--conditions=@oidc-auth/source',
      '--import',
      'tsx',
      child,
      server.url,
      path,
    ]);
    proc.stderr.resume();
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    workers.push({ child: proc, next: async () => String((await lines.next()).value) });
  }
  for (const w of workers) await w.next(); // ready
  const perWaiter: Array<{ reads: number; lockTries: number }> = [];
  const perRefresher: Array<{ reads: number; lockTries: number }> = [];
  let failed = 0;
  const cycleMs: number[] = [];
  for (let c = 0; c < cycles; c++) {
    const refreshesBefore = server.stats().grants.refresh_token;
    const started = performance.now();
    for (const w of workers) w.child.stdin.write('go\n');
    const lines = (await Promise.all(workers.map((w) => w.next()))).map(
      (l) => JSON.parse(l) as Line,
    );
    cycleMs.push(performance.now() - started);
    failed += lines.filter((l) => !l.ok).length;
    // The refresher is the process that took the lock and found nothing to adopt: the one
    // with the most lock tries is not always it, so all are counted, and the one refresh apart.
    const refreshed = server.stats().grants.refresh_token - refreshesBefore;
    const sorted = [...lines].sort((a, b) => b.reads - a.reads);
    perRefresher.push(...sorted.slice(0, refreshed));
    perWaiter.push(...sorted.slice(refreshed));
  }
  for (const w of workers) w.child.stdin.end();
  await Promise.all(workers.map((w) => once(w.child, 'exit')));
  await rm(dir, { recursive: true, force: true });
  const stats = server.stats();
  await server.close();
  const mean = (values: number[]) =>
    Math.round((values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)) * 100) / 100;
  return {
    processes,
    cycles,
    refreshes: stats.grants.refresh_token,
    reuseDetected: stats.reuseDetected,
    requestsFailed: failed,
    waiter: {
      readsMean: mean(perWaiter.map((w) => w.reads)),
      readsP99: quantile(
        perWaiter.map((w) => w.reads),
        0.99,
      ),
      lockTriesMean: mean(perWaiter.map((w) => w.lockTries)),
      lockTriesP99: quantile(
        perWaiter.map((w) => w.lockTries),
        0.99,
      ),
    },
    refresher: {
      readsMean: mean(perRefresher.map((w) => w.reads)),
      lockTriesMean: mean(perRefresher.map((w) => w.lockTries)),
    },
    cycleMsMedian: Math.round(quantile(cycleMs, 0.5)),
  };
}

export async function fileFleet(sizes: readonly number[] = [8, 32], cycles = 10) {
  const results = [];
  for (const size of sizes) results.push(await fleet(size, cycles));
  return results;
}
