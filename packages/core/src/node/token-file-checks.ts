import type { Stats } from 'node:fs';
import { access, chmod, constants, lstat, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AuthError, ErrorCode } from '../errors.js';
import { sleep } from '../sleep.js';

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Where a token file can go instead, for messages: the default one. */
export interface PathAdvice {
  /** The default token file (`~/.cache/py-oidc-auth/token-store.json` on Linux). */
  fallback: string;
}

/**
 * What went wrong with `subject` while doing `doing`, as a typed error that names the path and
 * the fix (never a raw Node error). `detail` is `{ path, errno }`.
 */
export function pathError(
  error: unknown,
  subject: string,
  doing: string,
  advice: PathAdvice,
): AuthError {
  if (error instanceof AuthError) return error;
  const code = errno(error) ?? 'error';
  const elsewhere = `give a token file in a folder you can write (OIDC_TOKEN_FILE, or the store's path), such as ${advice.fallback}`;
  const reasons: Record<string, string> = {
    EACCES: `no permission to ${doing} ${subject}: ${elsewhere}, or fix the permissions`,
    EPERM: `no permission to ${doing} ${subject}: ${elsewhere}, or fix the permissions`,
    EROFS: `${subject} is on a read-only file system: ${elsewhere}`,
    ENOSPC: `no space left to ${doing} ${subject}: free space on that disk, or ${elsewhere}`,
    EDQUOT: `the disk quota is used up, so ${subject} cannot be written: free space, or ${elsewhere}`,
    ENOTDIR: `a part of ${subject}'s path is a file, not a folder: ${elsewhere}`,
    ENOENT: `a folder on the way to ${subject} does not exist and cannot be made here: ${elsewhere}`,
    ELOOP: `${subject}'s path goes round in symbolic links: ${elsewhere}`,
    ENAMETOOLONG: `${subject}'s path is too long: ${elsewhere}`,
    EISDIR: `${subject} is a folder: ${elsewhere}`,
  };
  const reason = reasons[code] ?? `could not ${doing} ${subject} (${code})`;
  return new AuthError(
    ErrorCode.STORE_ERROR,
    `The token file cannot be used: ${reason}. Nothing was changed.`,
    { detail: { path: subject, errno: code }, cause: error },
  );
}

/**
 * What is at the token file's path, checked before anything reads, writes or changes it: a
 * regular file, or nothing yet. A folder, a symbolic link or anything else is refused typed and
 * left exactly as it is (a folder given by mistake is never chmod-ed or moved aside).
 */
export async function tokenFileKind(path: string, advice: PathAdvice): Promise<'file' | 'missing'> {
  let found: Stats;
  try {
    found = await lstat(path);
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'missing';
    throw pathError(error, path, 'reach', advice);
  }
  if (found.isFile()) return 'file';
  const what = found.isDirectory()
    ? `names a folder; give the file, e.g. ${join(path, 'token-store.json')}`
    : found.isSymbolicLink()
      ? 'is a symbolic link; refusing to use it. Replace it with a regular file or set OIDC_TOKEN_FILE to the real path'
      : 'is not a regular file (a device, socket or pipe); give the path of a file';
  throw new AuthError(
    ErrorCode.STORE_ERROR,
    `The token file ${path} ${what}. Nothing in it was touched.`,
    { detail: { path, errno: found.isDirectory() ? 'EISDIR' : 'EINVAL' } },
  );
}

/**
 * Makes the token file's folder (0700 when this store made it, or owns it: `own`) and checks
 * that files can be created there; every failure typed at once, naming the folder.
 */
export async function prepareFolder(dir: string, own: boolean, advice: PathAdvice): Promise<void> {
  try {
    const created = await makeFolders(dir);
    if (created || own) await chmod(dir, 0o700);
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw pathError(error, dir, 'create files in', advice);
  }
}

/**
 * `mkdir -p` one folder at a time, 0700 each: Node's `recursive` mkdir never returns under
 * `/proc` (it retries the parent forever). True when it made `dir`.
 */
async function makeFolders(dir: string): Promise<boolean> {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(at), { code: 'ENOTDIR' });
      break;
    } catch (error) {
      if (errno(error) !== 'ENOENT' || dirname(at) === at) throw error;
      missing.unshift(at);
    }
  }
  for (const each of missing) {
    await mkdir(each, { mode: 0o700 }).catch((error: unknown) => {
      if (errno(error) !== 'EEXIST') throw error; // made by another process meanwhile
    });
  }
  return missing.length > 0;
}

/**
 * Why a folder holding a token file is unsafe, judged as OpenSSH does: writable by every user
 * without the sticky bit (anyone could replace the file), or owned by another user than us or
 * root. `/tmp` (sticky, root's) is fine. Undefined when it is safe.
 */
export function folderRisk(
  dir: string,
  found: Stats,
  own: number | undefined,
  advice: PathAdvice,
): string | undefined {
  const mode = found.mode & 0o7777;
  const shown = mode.toString(8).padStart(4, '0');
  const openToAll = (mode & 0o002) !== 0 && (mode & 0o1000) === 0;
  const owner = own === undefined || found.uid === own || found.uid === 0;
  if (!openToAll && owner) return undefined;
  if (found.uid === own) {
    return `${dir} (mode ${shown}) is writable by every user, who could replace the token file: run \`chmod o-w ${dir}\`.`;
  }
  // Never advise changing a folder that is not ours (a system folder, another user's).
  return `${dir} (mode ${shown}, owner uid ${found.uid}) is ${openToAll ? 'writable by every user' : "another user's"}, who could replace the token file: keep it in a folder of your own, such as ${advice.fallback}.`;
}

/** proper-lockfile's `lock`, as used here. */
type Lock = (file: string, options: Record<string, unknown>) => Promise<() => Promise<void>>;

/**
 * Takes the token file's lock: only a lock another process holds (`ELOCKED`) is waited for —
 * with backoff, never a spin — up to `timeoutMs`; any other failure (permissions, a read-only
 * or full disk, a file where a folder should be) is typed at once.
 */
export async function acquireFileLock(
  lock: Lock,
  path: string,
  options: {
    staleMs: number;
    timeoutMs: number;
    onCompromised: (error: Error) => void;
    signal?: AbortSignal | undefined;
  },
  advice: PathAdvice,
): Promise<() => Promise<void>> {
  const started = Date.now();
  let wait = 5;
  for (;;) {
    // A wait the caller no longer needs (another process's token arrived) ends here.
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      return await lock(path, {
        realpath: false,
        lockfilePath: `${path}.lock`,
        stale: options.staleMs,
        retries: 0,
        // A lost lock (held past `stale`, taken over) is reported to the holder, never thrown.
        onCompromised: options.onCompromised,
      });
    } catch (error) {
      if (errno(error) !== 'ELOCKED') throw pathError(error, `${path}.lock`, 'create', advice);
      if (Date.now() - started >= options.timeoutMs) {
        throw new AuthError(
          ErrorCode.STORE_ERROR,
          `Could not lock the token file ${path} within ${options.timeoutMs / 1000} s: another process holds it (refreshing or logging in). Try again; a lock whose holder died is taken over by itself after ${options.staleMs / 1000} s.`,
          { cause: error },
        );
      }
    }
    await sleep(wait * (1 + Math.random()), options.signal);
    wait = Math.min(200, wait * 1.3);
  }
}
