import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileTokenStore, MemoryTokenStore, type Token, TokenManager } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';

function asToken(
  answer: ReturnType<Awaited<ReturnType<typeof startMockServer>>['issueToken']>,
): Token {
  return {
    access_token: answer.access_token,
    token_type: answer.token_type,
    expires: answer.expires,
    refresh_token: answer.refresh_token ?? '',
    refresh_expires: answer.refresh_expires,
    scope: answer.scope,
    headers: { Authorization: `Bearer ${answer.access_token}` },
  };
}

async function opsPerSecond(fn: () => Promise<unknown>, iterations: number): Promise<number> {
  for (let i = 0; i < 1000; i++) await fn(); // warm-up
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return iterations / ((performance.now() - started) / 1000);
}

/** authorization() with a valid token in memory, against an async function returning a string. */
export async function authorizationThroughput() {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  await store.put(server.url, asToken(server.issueToken()));
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  const header = await manager.authorization();
  const cached = async () => header;
  const ours = () => manager.authorization();
  // Warm both up first, then interleave: a single cold pass made the baseline (run first) look
  // five times slower than it is.
  await opsPerSecond(cached, 200_000);
  await opsPerSecond(ours, 200_000);
  const baseline: number[] = [];
  const measured: number[] = [];
  for (let trial = 0; trial < 7; trial++) {
    baseline.push(await opsPerSecond(cached, 200_000));
    measured.push(await opsPerSecond(ours, 200_000));
  }
  manager.close();
  await server.close();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
  const ratios = baseline.map((b, i) => b / (measured[i] ?? 1));
  return {
    trials: 7,
    authorizationPerSecond: Math.round(median(measured)),
    baselinePerSecond: Math.round(median(baseline)),
    ratioToBaseline: Number(median(ratios).toFixed(2)),
    ratioRange: [Number(Math.min(...ratios).toFixed(2)), Number(Math.max(...ratios).toFixed(2))],
    tokenEndpointCalls: server.stats().routes.token,
  };
}

/** 1,000 concurrent getToken() calls on an expired token. */
export async function refreshStorm(callers = 1000) {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = asToken(server.issueToken());
  token.expires = Math.floor(Date.now() / 1000) - 5;
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  await Promise.all(Array.from({ length: callers }, () => manager.getToken()));
  manager.close();
  await server.close();
  return { callers, tokenEndpointCalls: server.stats().grants.refresh_token };
}

const child = fileURLToPath(
  new URL('../packages/core/test/fixtures/refresh-child.ts', import.meta.url),
);

/** N processes sharing one store file whose access token has expired, all asking at once. */
export async function crossProcessRefresh(processes = 8) {
  const server = await startMockServer();
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-bench-'));
  const path = join(dir, 'token-store.json');
  const token = asToken(server.issueToken());
  token.expires = Math.floor(Date.now() / 1000) - 5;
  await new FileTokenStore({ path }).put(server.url, token);
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ['--import', 'tsx', child, server.url, path], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const exits = children.map((c) => once(c, 'exit'));
  const readers = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  for (const reader of readers) await reader.next(); // "ready"
  for (const c of children) c.stdin.write('go\n');
  const results = await Promise.all(
    readers.map(
      async (reader) => JSON.parse((await reader.next()).value as string) as { ok: boolean },
    ),
  );
  await Promise.all(exits);
  await rm(dir, { recursive: true, force: true });
  await server.close();
  return {
    processes,
    refreshCalls: server.stats().grants.refresh_token,
    loggedOut: results.filter((r) => !r.ok).length,
    reuseDetected: server.stats().reuseDetected,
  };
}
