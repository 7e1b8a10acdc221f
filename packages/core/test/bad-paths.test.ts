import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSources } from '@oidc-auth/test-support/script-process';
import { afterAll, describe, expect, it } from 'vitest';
import { defer, tempDir } from './helpers.js';

// The bad-path matrix (issue 33): every way a token file's path can be wrong, for each store
// operation, as root and as an ordinary user where that differs. Each ends typed — naming the
// path and the fix, never a raw Node error — without waiting out the lock, and leaves the
// user's files byte-for-byte and mode-for-mode as they were.

const fixture = fileURLToPath(new URL('./fixtures/bad-path.ts', import.meta.url));
const bundle = join(tmpdir(), `oidc-auth-bad-path-${process.pid}.mjs`);
bundleSources(fixture, bundle);
await chmod(bundle, 0o644);
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(bundle, { force: true });
});

const root = process.getuid?.() === 0;
/**
 * A Node binary the ordinary user may run: this one, unless it lives where only root can reach
 * (CI's Node 22/24 under /root/.cache), then the system's.
 */
const nodeForOthers = root
  ? [process.execPath, '/usr/bin/node', '/usr/local/bin/node'].find(
      (node) => spawnSync(node, ['--version'], { uid: 65534, gid: 65534 }).status === 0,
    )
  : process.execPath;
/** Who runs the operation: root and `nobody` when the tests run as root, else this user. */
const users: Array<{ name: string; uid?: number; gid?: number }> = root
  ? [{ name: 'root' }, { name: 'an ordinary user (nobody)', uid: 65534, gid: 65534 }]
  : [{ name: `this user (uid ${process.getuid?.()})` }];

type Outcome = {
  ok: boolean;
  typed?: boolean;
  code?: string;
  message?: string;
  result?: unknown;
  ms: number;
};

/** Runs one operation in a child process as `user`; a long lock timeout shows any wait. */
async function run(
  user: (typeof users)[number],
  op: string,
  path: string,
  lockTimeoutMs = 30_000,
): Promise<Outcome> {
  if (!nodeForOthers)
    throw new Error('No Node binary the user nobody may run: install one in /usr/bin.');
  const node = user.uid === undefined ? process.execPath : nodeForOthers;
  const child = spawn(node, [bundle, op, path, String(lockTimeoutMs)], {
    ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid } : {}),
    env: {
      PATH: process.env.PATH,
      HOME: user.uid !== undefined ? '/nonexistent' : process.env.HOME,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A child that hangs (as Node's recursive mkdir under /proc once did) never outlives the test.
  defer(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const [code] = await once(child, 'exit');
  if (code !== 0 || !out.trim()) throw new Error(`bad-path child exited ${code}: ${err}`);
  return JSON.parse(out.trim()) as Outcome;
}

/** Every file and folder under `dir`: type, mode, owner, content (or link target). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  const walk = async (path: string): Promise<void> => {
    const found = await lstat(path);
    let content = '';
    if (found.isFile())
      content = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    if (found.isSymbolicLink()) content = await readlink(path);
    seen[path] = `${found.mode.toString(8)} ${found.uid} ${content}`;
    if (found.isDirectory()) {
      for (const name of (await readdir(path)).sort()) await walk(join(path, name));
    }
  };
  await walk(dir);
  return seen;
}

/** A folder tree for one case, owned by `uid` (the user running the operation). */
async function tree(uid: number | undefined): Promise<string> {
  const dir = await tempDir();
  await chmod(dir, 0o755);
  if (uid !== undefined) await chown(dir, uid, uid);
  return dir;
}

async function own(uid: number | undefined, ...paths: string[]): Promise<void> {
  if (uid === undefined) return;
  for (const path of paths) await chown(path, uid, uid);
}

const storeFile =
  '{"https://other.example": {"token": {"access_token": "keep-me"}, "stored_at": 1}}\n';

interface Case {
  name: string;
  /** Makes the case under `dir` (owned by `uid`); returns the token path. */
  setup(dir: string, uid: number | undefined): Promise<string>;
  /** What each operation must do: `typed` with the message's pattern, or `ok`. */
  expect(user: (typeof users)[number]): Record<string, RegExp | 'ok'>;
}

const allOps = (outcome: RegExp | 'ok') => ({ get: outcome, put: outcome, hosts: outcome });

const cases: Case[] = [
  {
    name: 'the path is a folder (OIDC_TOKEN_FILE=$HOME)',
    async setup(dir, uid) {
      const folder = join(dir, 'home');
      await mkdir(folder, { mode: 0o755 });
      await writeFile(join(folder, 'thesis.tex'), 'years of work');
      await own(uid, folder, join(folder, 'thesis.tex'));
      return folder;
    },
    expect: () => allOps(/names a folder; give the file, e\.g\. .*home\/token-store\.json/),
  },
  {
    name: 'a file in the path',
    async setup(dir, uid) {
      await writeFile(join(dir, 'notes'), 'a file, not a folder');
      await own(uid, join(dir, 'notes'));
      return join(dir, 'notes', 'token-store.json');
    },
    expect: () => allOps(/a part of .*notes\/token-store\.json's path is a file, not a folder/),
  },
  {
    name: 'a symbolic link to a file',
    async setup(dir) {
      await writeFile(join(dir, 'real.json'), storeFile);
      await symlink(join(dir, 'real.json'), join(dir, 'token-store.json'));
      return join(dir, 'token-store.json');
    },
    expect: () => allOps(/is a symbolic link; refusing to use it/),
  },
  {
    name: 'a symbolic link to a folder',
    async setup(dir) {
      await mkdir(join(dir, 'real'));
      await symlink(join(dir, 'real'), join(dir, 'token-store.json'));
      return join(dir, 'token-store.json');
    },
    expect: () => allOps(/is a symbolic link; refusing to use it/),
  },
  {
    name: 'a dangling symbolic link',
    async setup(dir) {
      await symlink(join(dir, 'gone.json'), join(dir, 'token-store.json'));
      return join(dir, 'token-store.json');
    },
    expect: () => allOps(/is a symbolic link; refusing to use it/),
  },
  {
    name: 'a read-only folder of the user holding the file',
    async setup(dir, uid) {
      const folder = join(dir, 'ro');
      await mkdir(folder);
      await writeFile(join(folder, 'token-store.json'), storeFile, { mode: 0o600 });
      await own(uid, folder, join(folder, 'token-store.json'));
      await chmod(folder, 0o500);
      return join(folder, 'token-store.json');
    },
    // root writes anywhere: for it the folder's mode is no obstacle.
    expect: (user) => ({
      get: 'ok',
      hosts: 'ok',
      put: user.uid === undefined && root ? 'ok' : /no permission to create files in .*ro/,
    }),
  },
  {
    name: "a folder to be made under another user's folder",
    async setup(dir) {
      const theirs = join(dir, 'theirs');
      await mkdir(theirs, { mode: 0o755 }); // root's: an ordinary user cannot create in it
      return join(theirs, 'cache', 'token-store.json');
    },
    expect: (user) => ({
      get: 'ok',
      hosts: 'ok',
      put:
        user.uid === undefined && root ? 'ok' : /no permission to create files in .*theirs\/cache/,
    }),
  },
  {
    name: 'a path under /proc',
    async setup() {
      return `/proc/oidc-auth-matrix-${process.pid}/token-store.json`;
    },
    expect: () => ({
      get: 'ok',
      hosts: 'ok',
      put: /(a folder on the way to \/proc\/.* does not exist and cannot be made here|no permission to create files in \/proc\/)/,
    }),
  },
  {
    name: 'a lock folder left by a dead process (an hour old)',
    async setup(dir, uid) {
      const path = join(dir, 'token-store.json');
      await writeFile(path, storeFile, { mode: 0o600 });
      await mkdir(`${path}.lock`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      await utimes(`${path}.lock`, hourAgo, hourAgo);
      await own(uid, path, `${path}.lock`);
      return path;
    },
    expect: () => allOps('ok'),
  },
];

describe('the bad-path matrix: a token path that cannot be used ends typed, and touches nothing', () => {
  for (const user of users) {
    for (const each of cases) {
      it(`${each.name}, as ${user.name}`, async ({ annotate }) => {
        const expected = each.expect(user);
        for (const [op, outcome] of Object.entries(expected)) {
          const dir = await tree(user.uid);
          const path = await each.setup(dir, user.uid);
          const before = await snapshot(dir);
          const got = await run(user, op, path);
          await annotate(`${op}: ${got.ok ? 'ok' : got.message} (${Math.round(got.ms)} ms)`);
          if (outcome === 'ok') {
            expect(got, `${op}: ${got.message}`).toMatchObject({ ok: true });
            continue;
          }
          expect(got, op).toMatchObject({ ok: false, typed: true, code: 'OIDC_STORE_ERROR' });
          expect(got.message, op).toMatch(outcome);
          expect(got.message).not.toMatch(/^E[A-Z]+:/); // never a raw Node error
          // Typed at once: it did not wait out the lock (30 s here).
          expect(got.ms, op).toBeLessThan(30_000);
          expect(await snapshot(dir), `${op} changed the user's files`).toEqual(before);
        }
      });
    }
  }

  it('a lock held by a live process is the one thing waited for: the documented wait, then typed', async () => {
    const dir = await tree(undefined);
    const path = join(dir, 'token-store.json');
    await writeFile(path, storeFile, { mode: 0o600 });
    await mkdir(`${path}.lock`); // fresh: its holder is alive (renewed within the stale time)
    const before = await snapshot(dir);
    const got = await run(users[0] as (typeof users)[number], 'put', path, 300);
    expect(got).toMatchObject({ ok: false, typed: true, code: 'OIDC_STORE_ERROR' });
    expect(got.message).toMatch(
      /Could not lock the token file .* within 0\.3 s: another process holds it/,
    );
    expect(got.ms).toBeGreaterThanOrEqual(300);
    expect(await snapshot(dir)).toEqual(before);
  });
});
