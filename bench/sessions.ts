// Many sessions in one process (issue 34 item 4): a server with many users, a Worker with many
// tenants. For N identities (an OpenID Provider's clients, one shared memory store seeded with a
// valid token each, as after their logins): the heap each idle session holds, the time to its
// first header (a store read), the handles and timers held, and what close() gives back.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryTokenStore, TokenManager } from '@oidc-auth/core';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Active handles and timers by kind (Node's own view), without the ones Node always has. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const issuer = 'https://id.example.org/realms/lab';

async function sessions(count: number) {
  const store = new MemoryTokenStore();
  const now = Math.floor(Date.now() / 1000);
  const baseHeap = settledHeap();
  const baseResources = resources();
  const managers: TokenManager[] = [];
  for (let i = 0; i < count; i++) {
    managers.push(new TokenManager({ issuer, clientId: `tenant-${i}`, store }));
  }
  const idleHeap = settledHeap();
  const idleResources = resources();
  // Their logins, stored as a login stores them (the store is not the sessions' cost).
  for (const [i, manager] of managers.entries()) {
    await store.put(manager.host, {
      access_token: `at-${i}`,
      token_type: 'Bearer',
      expires: now + 3600,
      refresh_token: `rt-${i}`,
      refresh_expires: now + 86_400,
      scope: 'openid',
      headers: { Authorization: `Bearer at-${i}` },
    });
  }
  const storedHeap = settledHeap();
  const firstHeader: number[] = [];
  for (const manager of managers) {
    const started = performance.now();
    await manager.authorization();
    firstHeader.push((performance.now() - started) * 1000);
  }
  // The hot path in the same run: a header from memory, the baseline.
  const hot: number[] = [];
  for (const manager of managers.slice(0, 1000)) {
    const started = performance.now();
    await manager.authorization();
    hot.push((performance.now() - started) * 1000);
  }
  const usedHeap = settledHeap();
  const usedResources = resources();
  for (const manager of managers) manager.close();
  managers.length = 0;
  const closedHeap = settledHeap();
  const closedResources = resources();
  const per = (bytes: number) => Math.round(bytes / count);
  const extra = (now: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(now)
        .map(([kind, n]) => [kind, n - (baseResources[kind] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
  return {
    sessions: count,
    heapPerIdleSessionBytes: per(idleHeap - baseHeap),
    heapPerUsedSessionBytes: per(usedHeap - storedHeap + (idleHeap - baseHeap)),
    firstHeaderUs: Math.round(median(firstHeader) * 10) / 10,
    hotHeaderUs: Math.round(median(hot) * 100) / 100,
    firstHeaderToHot: Math.round((median(firstHeader) / median(hot)) * 10) / 10,
    handlesAndTimersIdle: extra(idleResources),
    handlesAndTimersAfterUse: extra(usedResources),
    handlesAndTimersAfterClose: extra(closedResources),
    heapLeftAfterCloseBytes: closedHeap - baseHeap - (storedHeap - idleHeap),
  };
}

export async function manySessions(counts: readonly number[] = [1_000, 10_000]) {
  const results = [];
  for (const count of counts) results.push(await sessions(count));
  return results;
}
