import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const examples = new URL('../../../docs/examples/', import.meta.url);

/** A loopback port nothing listens on: Redis is down. */
async function deadPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs a Fleets-guide example as a user copies it (next to this package's node_modules, so its
 * imports resolve to the workspace packages and ioredis).
 */
async function runExample(name: string, env: NodeJS.ProcessEnv) {
  const copy = fileURLToPath(new URL(`../.example-${process.pid}-${name}`, import.meta.url));
  await copyFile(new URL(name, examples), copy);
  const child = spawn(
    process.execPath,
    ['--conditions=@oidc-auth/source', '--import', 'tsx', copy],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    return { code: code as number | null, stderr };
  } finally {
    child.kill('SIGKILL');
    await rm(copy, { force: true });
  }
}

// Concurrent: each waits out the store's 5 s command limit; each cleans up after itself.
describe.concurrent('the Fleets guide examples when Redis is down', () => {
  it.each(['fleet-worker.mjs', 'fleet-login.mjs'])(
    '%s ends with one line and exit 1: no hang, no flood of ioredis errors',
    async (name) => {
      const result = await runExample(name, {
        REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
        OIDC_HOST: 'http://127.0.0.1:9',
        OIDC_TOKEN_KEY: randomBytes(32).toString('base64'),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^fleet (worker|login): Redis did not answer within 5 s/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain('Unhandled error event');
    },
  );
});

it('the guide shows the example files as they are (what CI runs is what users copy)', async () => {
  const guide = await readFile(new URL('../guides/fleets.md', examples), 'utf8');
  const shown = [...guide.slice(guide.indexOf('## A worker pool')).matchAll(/```js\n(.*?)```/gs)];
  for (const [index, name] of ['fleet-login.mjs', 'fleet-worker.mjs'].entries()) {
    const file = (await readFile(new URL(name, examples), 'utf8')).replace(/^(\/\/.*\n)+/, '');
    expect(shown[index]?.[1]?.trim(), name).toBe(file.trim());
  }
});
