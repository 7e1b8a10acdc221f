import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findCredentials } from '@napi-rs/keyring';
import { storeConformance } from '@oidc-auth/contract';
import { isAuthError, TokenManager } from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';
import { afterEach, expect, it } from 'vitest';
import { KeyringTokenStore } from '../src/index.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service name and a lock folder of this test's own, removed after it. */
async function place(): Promise<{ service: string; lockPath: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-keyring-'));
  const service = `oidc-auth-test-${randomUUID()}`;
  cleanups.push(async () => {
    await new KeyringTokenStore({ service, lockPath: join(dir, 'lock.json') }).clear();
    await rm(dir, { recursive: true, force: true });
  });
  return { service, lockPath: join(dir, 'lock.json'), dir };
}

storeConformance(
  'KeyringTokenStore (Secret Service: gnome-keyring)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-keyring-'));
    const options = { service: `oidc-auth-test-${randomUUID()}`, lockPath: join(dir, 'lock.json') };
    const store = new KeyringTokenStore(options);
    return {
      store,
      // Another process on the same keychain: the same service and lock file.
      peer: () => new KeyringTokenStore(options),
      close: async () => {
        await store.clear();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { shared: true, pushesChanges: true },
);

it('keeps the token in the keychain itself (service, account = the session key), and nothing secret in the lock folder', async () => {
  const { service, lockPath, dir } = await place();
  const server = await startMockServer({ autoApprove: 0, interval: 1 });
  cleanups.push(() => server.close());
  const store = new KeyringTokenStore({ service, lockPath });
  const manager = new TokenManager({ host: server.url, store, onDeviceCode: () => {} });
  cleanups.push(() => manager.close());

  const token = await manager.getToken();
  const entries = findCredentials(service);
  expect(entries.map((e) => e.account)).toEqual([manager.host]);
  expect(entries[0]?.password).toContain(token.access_token);
  // The lock folder holds the lock and the notices: no token, no refresh token.
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const text = existsSync(path) ? await readFile(path, 'utf8').catch(() => '') : '';
    expect(text).not.toContain(token.access_token);
    expect(text).not.toContain(token.refresh_token);
  }
  expect(JSON.stringify(store)).toBe(JSON.stringify({ store: 'keyring', service }));
});

it('locks across processes: 3 processes × 10 locked read-modify-writes of one entry lose none', async () => {
  const { service, lockPath } = await place();
  await Promise.all(
    [1, 2, 3].map(() =>
      run(process.execPath, ['--import', 'tsx', child, 'increment', service, lockPath, '10'], {
        env: process.env,
      }),
    ),
  );
  const stored = await new KeyringTokenStore({ service, lockPath }).get('https://count.example');
  expect(stored?.token.access_token).toBe('count-30');
});

it('where no keychain can be reached (no D-Bus session): a typed error naming the token file, and nothing stored anywhere else', async () => {
  const { service, lockPath } = await place();
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', child, 'unreachable', service, lockPath],
    { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } },
  );
  const seen = JSON.parse(stdout) as Record<string, { code?: string; message?: string }>;
  for (const call of ['get', 'put', 'hosts']) {
    expect(seen[call]?.code, call).toBe('OIDC_STORE_ERROR');
    expect(seen[call]?.message, call).toMatch(/FileTokenStore/);
    expect(seen[call]?.message, call).not.toMatch(/secret-token/);
  }
  // Not fallen back to another store: the Secret Service has nothing under this service.
  expect(findCredentials(service)).toEqual([]);
});

it('an entry that is not ours (not JSON) reads as absent and is left as it is until a put', async () => {
  const { service, lockPath } = await place();
  const { Entry } = await import('@napi-rs/keyring');
  new Entry(service, 'https://odd.example', { linux: { store: 'secret-service' } }).setPassword(
    'not json',
  );
  const store = new KeyringTokenStore({ service, lockPath });
  expect(await store.get('https://odd.example')).toBeUndefined();
  expect(await store.hosts()).toEqual(['https://odd.example']);
  const error = (() => {
    try {
      return new KeyringTokenStore({ service: '' });
    } catch (e) {
      return e;
    }
  })();
  expect(isAuthError(error) && error.code).toBe('OIDC_INVALID_OPTIONS');
});

it('the CLI with --store keyring (and OIDC_TOKEN_STORE=keyring): login, list, status and remove on the keychain; the token file untouched', async () => {
  const { main } = await import('@oidc-auth/cli');
  const server = await startMockServer({ autoApprove: 0, interval: 1 });
  const home = await mkdtemp(join(tmpdir(), 'oidc-auth-keyring-cli-'));
  cleanups.push(
    () => server.close(),
    () => rm(home, { recursive: true, force: true }),
  );
  const file = join(home, 'token-store.json');
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { ...process.env, XDG_CACHE_HOME: join(home, 'cache'), OIDC_TOKEN_FILE: file, ...extra },
    });
    return { code, stdout, stderr };
  };
  cleanups.push(() => cli(['clear', '--store', 'keyring']));

  expect((await cli(['login', server.url, '--store', 'keyring'])).code).toBe(0);
  expect(findCredentials('oidc-auth').map((c) => c.account)).toContain(server.url);
  const listed = await cli(['list'], { OIDC_TOKEN_STORE: 'keyring' });
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(server.url);
  expect((await cli(['status', server.url], { OIDC_TOKEN_STORE: 'keyring' })).code).toBe(0);
  expect(existsSync(file)).toBe(false);
  // The token file knows nothing of it.
  expect((await cli(['status', server.url])).code).toBe(1);
  expect((await cli(['remove', server.url, '--store', 'keyring'])).code).toBe(0);
  expect(findCredentials('oidc-auth').map((c) => c.account)).not.toContain(server.url);
  const empty = await cli(['list', '--store', 'keyring']);
  expect(empty.stdout).toContain('No stored logins in the OS keychain (service oidc-auth).');
});
