import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concurrentTest } from '@oidc-auth/test-support/cleanup';
import { startScript } from '@oidc-auth/test-support/script-process';
import { describe, type ExpectStatic } from 'vitest';
import { FileTokenStore } from '../src/index.js';
import { startChild } from './child.js';

const script = fileURLToPath(new URL('./fixtures/refresh-child.ts', import.meta.url));

import { asToken, defer, mock, tempDir } from './helpers.js';

describe.concurrent('across processes (one store file)', () => {
  concurrentTest(
    '6 processes needing a refresh at once: exactly one refresh, nobody logged out',
    async ({ expect }) => {
      const server = await mock({ rotation: true, reuseDetection: true });
      const dir = await tempDir();
      const path = join(dir, 'token-store.json');
      const token = asToken(server.issueToken());
      token.expires = Math.floor(Date.now() / 1000) - 5; // expired for the clients
      await new FileTokenStore({ path }).put(server.url, token);

      const children = Array.from({ length: 6 }, () => startChild([server.url, path]));
      for (const child of children) expect(await child.line()).toBe('ready');
      for (const child of children) child.process.stdin.write('go\n');
      const results = await Promise.all(
        children.map(
          async (child) => JSON.parse(await child.line()) as { ok: boolean; access_token?: string },
        ),
      );
      const codes = await Promise.all(children.map((child) => child.exited));

      expect(results.every((r) => r.ok)).toBe(true);
      expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
      expect(server.stats().grants.refresh_token).toBe(1);
      expect(server.stats().reuseDetected).toBe(0);
      expect(new Set(results.map((r) => r.access_token)).size).toBe(1);
      const file = JSON.parse(await readFile(path, 'utf8'));
      expect(file[server.url].token.access_token).toBe(results[0]?.access_token);
    },
    30_000,
  );

  concurrentTest(
    '8 processes × 50 refresh cycles under strict rotation: 0 logouts, one refresh per cycle',
    async ({ expect }) => {
      const server = await mock({ rotation: true, reuseDetection: true });
      const dir = await tempDir();
      const path = join(dir, 'token-store.json');
      await new FileTokenStore({ path }).put(server.url, asToken(server.issueToken()));
      const children = Array.from({ length: 8 }, () => startChild([server.url, path, 'cycles']));
      for (const child of children) expect(await child.line()).toBe('ready');
      let failures = 0;
      const cycles = 50;
      for (let cycle = 0; cycle < cycles; cycle++) {
        for (const child of children) child.process.stdin.write('go\n');
        const results = await Promise.all(
          children.map(
            async (child) =>
              JSON.parse(await child.line()) as { ok: boolean; access_token?: string },
          ),
        );
        failures += results.filter((r) => !r.ok).length;
        expect(new Set(results.map((r) => r.access_token)).size).toBe(1);
      }
      for (const child of children) child.process.stdin.end();
      await Promise.all(children.map((child) => child.exited));
      expect(failures).toBe(0);
      expect(server.stats().grants.refresh_token).toBe(cycles);
      expect(server.stats().reuseDetected).toBe(0);
    },
    120_000,
  );

  concurrentTest(
    'a process that never calls close() exits by itself after a refresh',
    async ({ expect }) => {
      const server = await mock();
      const dir = await tempDir();
      const path = join(dir, 'token-store.json');
      const token = asToken(server.issueToken());
      token.expires = Math.floor(Date.now() / 1000) - 5;
      await new FileTokenStore({ path }).put(server.url, token);
      const child = startChild([server.url, path, 'now']);
      expect(JSON.parse(await child.line())).toMatchObject({ ok: true });
      expect(await child.exited).toBe(0);
    },
    30_000,
  );
});

/**
 * The lock-takeover tests wait for a paused or killed holder's lease to go stale (2 s, the
 * least a file lock takes): run together (and beside the tests above), the waits overlap. Each
 * owns its server, folder and holder; `defer` gives a concurrent test its own cleanups.
 */
async function local() {
  const server = await mock({ interval: 1 });
  const dir = await tempDir();
  const startHolder = (args: string[]) => startScript(script, args, { cleanup: defer });
  return { server, dir, startHolder };
}

/** A concurrent takeover test with its own server, folder and holders. */
function takeover(
  name: string,
  fn: (resources: Awaited<ReturnType<typeof local>> & { expect: ExpectStatic }) => Promise<void>,
) {
  concurrentTest(name, async ({ expect }) => fn({ ...(await local()), expect }), 30_000);
}

describe.concurrent('lock takeover across processes (concurrent: the stale-lease waits overlap)', () => {
  takeover(
    'a lock holder killed with SIGKILL does not wedge the others',
    async ({ server, dir, startHolder, expect }) => {
      const path = join(dir, 'token-store.json');
      const holder = startHolder([server.url, path, 'hold-lock']);
      expect(await holder.line()).toBe('locked');
      holder.process.kill('SIGKILL');
      await holder.exited;

      const store = new FileTokenStore({ path, staleMs: 2000 });
      await store.put(server.url, asToken(server.issueToken()));
      expect(await store.hosts()).toEqual([server.url]);
    },
  );

  takeover(
    'a holder paused (SIGSTOP) past the lease learns on resuming that its lock was lost',
    async ({ server, dir, startHolder, expect }) => {
      const path = join(dir, 'token-store.json');
      const holder = startHolder([server.url, path, 'hold-until-lost']);
      expect(await holder.line()).toBe('locked');
      holder.process.kill('SIGSTOP');
      // Taking the lock over succeeds once the paused holder's lease is stale.
      const store = new FileTokenStore({ path, staleMs: 2000 });
      await store.withLock(server.url, async (entry) => {
        await entry.put(asToken(server.issueToken()));
        holder.process.kill('SIGCONT');
        expect(await holder.line()).toBe('lost');
      });
      expect(await holder.exited).toBe(0);
    },
  );

  takeover(
    'a holder paused (SIGSTOP) past its lease, resumed while another holds the lock: its write is refused, the newer token stays',
    async ({ server, dir, startHolder, expect }) => {
      const path = join(dir, 'token-store.json');
      const holder = startHolder([server.url, path, 'hold-then-put']);
      expect(await holder.line()).toBe('locked');
      holder.process.kill('SIGSTOP');
      // The lock is taken over once the paused holder's lease is stale.
      const store = new FileTokenStore({ path, staleMs: 2000 });
      const newer = asToken(server.issueToken());
      await store.withLock(server.url, async (entry) => {
        await entry.put(newer);
        // The line waits in the pipe: resumed, the holder writes before its timers run.
        holder.send('put');
        holder.process.kill('SIGCONT');
        expect(await holder.line()).toBe('refused OIDC_LOCK_LOST aborted=true');
      });
      expect(await holder.exited).toBe(0);
      expect((await store.get(server.url))?.token.access_token).toBe(newer.access_token);
    },
  );
});
