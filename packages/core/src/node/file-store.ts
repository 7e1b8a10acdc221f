import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Environment } from '../env.js';
import { AuthError, ErrorCode } from '../errors.js';
import { refuseUnknownOptions } from '../option-names.js';
import { nodeCrypto } from '../platform/node-builtins.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import type {
  LockedEntry,
  StoreCorruptEvent,
  StoredToken,
  StoreEvent,
  StoreInsecureEvent,
  TokenStore,
} from '../store/store.js';
import type { Token } from '../token.js';
import { watchEntries } from './file-watch.js';
import {
  acquireFileLock,
  folderRisk,
  type PathAdvice,
  pathError,
  prepareFolder,
  tokenFileKind,
} from './token-file-checks.js';
import { dropEvicted, fileKey, isObject, type RawFile, usableEntry } from './token-file-layout.js';
import { defaultTokenFile, expandHome } from './token-file-path.js';

/** Throws `OIDC_LOCK_LOST` unless the file lock is still this holder's. */
type Owned = () => Promise<void>;
/** Options of {@link FileTokenStore}. */
export interface FileTokenStoreOptions {
  /**
   * The token file. Overrides `OIDC_TOKEN_FILE` and `appName`.
   * @default process.env.OIDC_TOKEN_FILE, else `<user cache dir>/<appName>/token-store.json`
   * @example '/home/me/.cache/py-oidc-auth/token-store.json'
   */
  path?: string;
  /**
   * The application name whose cache folder holds the file; the default shares the login
   * with py-oidc-auth-client.
   * @default 'py-oidc-auth'
   */
  appName?: string;
  /**
   * A lock whose holder has not touched it for this long is taken over (its holder was killed).
   * At least 2000.
   * @default 10000
   */
  staleMs?: number;
  /**
   * How long to wait for another process's lock before failing. The default outlasts the
   * longest refresh a holder may legitimately run (4 attempts of 30 s, plus backoff).
   * @default 300000
   */
  lockTimeoutMs?: number;
  /** Told when an unreadable file was moved aside. */
  onCorrupt?: (event: StoreCorruptEvent) => void;
  /** Told when the file, or its folder, is open to other users. */
  onInsecure?: (event: StoreInsecureEvent) => void;
  /**
   * Milliseconds since the epoch.
   * @default Date.now
   */
  clock?: () => number;
  /** Environment to read `OIDC_TOKEN_FILE`, `XDG_CACHE_HOME`, `LOCALAPPDATA` from. @default process.env */
  env?: Environment;
}

const storeOptionNames: readonly string[] = [
  'path',
  'appName',
  'staleMs',
  'lockTimeoutMs',
  'onCorrupt',
  'onInsecure',
  'clock',
  'env',
];

/** A mistyped option (`app_name`, `file`) would put the tokens in the default file: refused. */
function checkStoreOptions(options: FileTokenStoreOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'Pass FileTokenStore a path or an options object.',
    );
  }
  refuseUnknownOptions(
    options,
    storeOptionNames,
    'FileTokenStore',
    { file: 'path', token_file: 'path', tokenFile: 'path' },
    'It would be ignored (the tokens would go to the default file), so it is refused.',
  );
}

/**
 * proper-lockfile (and the graceful-fs it patches in), loaded on the first write: a program
 * that only reads a fresh token never pays for it at start-up.
 */
let lockfileModule: Promise<typeof import('proper-lockfile')> | undefined;
const lockfile = () => {
  lockfileModule ??= import('proper-lockfile').then((m) => m.default ?? m);
  return lockfileModule;
};

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A token store in one JSON file shared by every host — the same layout and default path as
 * py-oidc-auth-client, so Python and Node tools on a machine share one login:
 *
 * ```json
 * { "https://myapp.example.com": { "token": { …Token… }, "stored_at": 1717027200.0 } }
 * ```
 *
 * The file is mode 0600 in a 0700 folder, replaced atomically (temp file, fsync, rename), and
 * guarded by a cross-process lock (a lock directory, which works on network filesystems, with
 * stale-holder detection). A file that cannot be parsed is moved aside to
 * `<file>.corrupt-<timestamp>`, never overwritten. A symlinked file is refused.
 *
 * @example
 * const store = new FileTokenStore(); // ~/.cache/py-oidc-auth/token-store.json on Linux
 */
export class FileTokenStore implements TokenStore {
  /** The absolute path of the token file. */
  readonly path: string;
  private readonly ownDir: boolean;
  private readonly staleMs: number;
  private readonly lockTimeoutMs: number;
  private readonly clock: () => number;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly mutex = new KeyedMutex();
  /** Mode problems already reported, so each is told once. */
  private readonly reported = new Set<string>();
  /** What messages suggest instead of a path that cannot be used. */
  private readonly advice: PathAdvice;
  /** Stops watching the file for other processes' changes (while anyone listens). */
  private stopWatching: (() => void) | undefined;

  /**
   * @param pathOrOptions the token file (as py-oidc-auth-client's `TokenStore(path)` takes it;
   *   a leading `~` is the home folder), or the options
   */
  constructor(pathOrOptions: string | FileTokenStoreOptions = {}) {
    const options: FileTokenStoreOptions =
      typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
    checkStoreOptions(options);
    const env = options.env ?? process.env;
    if (options.appName !== undefined && !/^[\w.-]+$/.test(options.appName)) {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        `appName "${options.appName}" may only contain letters, digits, ".", "_" and "-".`,
      );
    }
    this.path = options.path
      ? expandHome(options.path, env)
      : defaultTokenFile(options.appName ?? 'py-oidc-auth', env);
    // Only a folder that is ours alone gets its mode forced on every write.
    this.ownDir = !options.path && !env.OIDC_TOKEN_FILE;
    this.advice = { fallback: defaultTokenFile('py-oidc-auth', env) };
    this.staleMs = Math.max(2000, options.staleMs ?? 10_000);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 300_000;
    this.clock = options.clock ?? Date.now;
    const { onCorrupt, onInsecure } = options;
    if (onCorrupt || onInsecure) {
      this.listeners.add(({ type, ...event }) => {
        if (type === 'corrupt') onCorrupt?.(event as StoreCorruptEvent);
        else if (type === 'insecure') onInsecure?.(event as StoreInsecureEvent);
      });
    }
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const raw = await this.read();
    return this.usable(raw[fileKey(host, raw)]);
  }

  put(host: string, token: Token): Promise<void> {
    return this.withFileLock((_lost, owned) => this.writeEntry(host, token, owned));
  }

  /**
   * Writes one entry. The token is the one given, whole: nothing of the old token (another
   * tool's `session_state`, an old `id_token`) is carried into it. Fields of the entry itself
   * that this library does not know (another tool's) are kept.
   */
  private async writeEntry(host: string, token: Token, owned: Owned): Promise<void> {
    const raw = dropEvicted(await this.read(), this.clock() / 1000);
    const key = fileKey(host, raw);
    const previous = isObject(raw[key]) ? raw[key] : {};
    raw[key] = { ...previous, token: { ...token }, stored_at: this.clock() / 1000 };
    await this.write(raw, owned);
  }

  /**
   * Listens for what the store notices — a corrupt or insecure file, and (while anyone listens)
   * `changed` for each entry another process changed, such as a logout (the folder is watched:
   * see `watchEntries`); returns the unsubscribe function.
   */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    this.stopWatching ??= watchEntries(this.path, (host) => {
      for (const each of this.listeners) each({ type: 'changed', host });
    });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.stopWatching?.();
        this.stopWatching = undefined;
      }
    };
  }

  remove(host: string): Promise<boolean> {
    return this.withFileLock(async (_lost, owned) => {
      const raw = await this.read();
      const key = fileKey(host, raw);
      if (!(key in raw)) return false;
      delete raw[key];
      await this.write(raw, owned);
      return true;
    });
  }

  async hosts(): Promise<string[]> {
    const raw = await this.read();
    return Object.keys(raw).filter((host) => this.usable(raw[host]) !== undefined);
  }

  async clear(): Promise<void> {
    await this.withFileLock((_lost, owned) => this.write({}, owned));
  }

  /** The whole file is one lock: a write replaces every host's entry at once. */
  withLock<T>(
    host: string,
    fn: (entry: LockedEntry) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.withFileLock(
      (signal, owned) =>
        fn({
          get: () => this.get(host),
          put: (token) => this.writeEntry(host, token, owned),
          signal,
        }),
      options.signal,
    );
  }

  private usable(entry: unknown): StoredToken | undefined {
    return usableEntry(entry, this.clock() / 1000);
  }

  private async withFileLock<T>(
    fn: (lost: AbortSignal, owned: Owned) => Promise<T>,
    wanted?: AbortSignal,
  ): Promise<T> {
    return this.mutex.run(this.path, async () => {
      if (wanted?.aborted) throw wanted.reason;
      const lost = new AbortController();
      // What is there, and where it goes, checked before anything is made or locked.
      await tokenFileKind(this.path, this.advice);
      await this.ensureDir();
      const release = await acquireFileLock(
        (await lockfile()).lock as Parameters<typeof acquireFileLock>[0],
        this.path,
        {
          staleMs: this.staleMs,
          timeoutMs: this.lockTimeoutMs,
          onCompromised: (error) => lost.abort(error),
          signal: wanted,
        },
        this.advice,
      );
      const lockPath = `${this.path}.lock`;
      const mine = await stat(lockPath).catch(() => undefined);
      // Checked just before each rename: the lock's timer may not have run yet (a process resumed
      // from SIGSTOP writes first), so ask the lock itself. It is ours while it is the very folder
      // we made (inode and birth time) and its lease, renewed by proper-lockfile, is not stale.
      const owned: Owned = async () => {
        const now = await stat(lockPath).catch(() => undefined);
        const ours =
          !lost.signal.aborted &&
          mine !== undefined &&
          now !== undefined &&
          now.ino === mine.ino &&
          now.birthtimeMs === mine.birthtimeMs &&
          Date.now() - now.mtimeMs < this.staleMs;
        if (ours) return;
        const error = new AuthError(
          ErrorCode.LOCK_LOST,
          `The lock on the token file ${this.path} was lost (this process was paused past its ${this.staleMs / 1000} s lease, and another may have taken it): nothing was written.`,
        );
        if (!lost.signal.aborted) lost.abort(error);
        throw error;
      };
      try {
        return await fn(lost.signal, owned);
      } finally {
        await release().catch(() => undefined);
      }
    });
  }

  private ensureDir(): Promise<void> {
    return prepareFolder(dirname(this.path), this.ownDir, this.advice);
  }

  /**
   * Reports (once each) a token file others can read or write, or an unsafe folder (see
   * `folderRisk`). A regular token file of our own user is made 0600 at once, on a read too
   * (read-only commands never write); one of another user's is left alone, and the report
   * names the command that fixes it. Called only once the path is known to be a regular file.
   */
  private async checkModes(): Promise<void> {
    if (process.platform === 'win32') return;
    const own = process.getuid?.();
    const file = await stat(this.path).catch(() => undefined);
    const mode = file ? file.mode & 0o777 : 0;
    if (file?.isFile() && (mode & 0o077) !== 0 && !this.reported.has(this.path)) {
      this.reported.add(this.path);
      const shown = mode.toString(8).padStart(4, '0');
      const fixed =
        file.uid === own &&
        (await chmod(this.path, 0o600).then(
          () => true,
          () => false,
        ));
      this.report(
        this.path,
        mode,
        fixed
          ? `${this.path} (mode ${shown}) was readable or writable by other users; it was made 0600.`
          : `${this.path} (mode ${shown}) is readable or writable by other users: run \`chmod 600 ${this.path}\`.`,
      );
    }
    const dir = dirname(this.path);
    const folder = await stat(dir).catch(() => undefined);
    const risk = folder ? folderRisk(dir, folder, own, this.advice) : undefined;
    if (folder && risk && !this.reported.has(dir)) {
      this.reported.add(dir);
      this.report(dir, folder.mode & 0o7777, risk);
    }
  }

  private report(path: string, mode: number, message: string): void {
    const event: StoreInsecureEvent = { path, mode, message };
    for (const listener of this.listeners) listener({ type: 'insecure', ...event });
  }

  private async read(): Promise<RawFile> {
    if ((await tokenFileKind(this.path, this.advice)) === 'missing') return {};
    await this.checkModes();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return {};
      // Unreadable is not corrupt: the file may be another user's, and stays where it is.
      throw pathError(error, this.path, 'read', this.advice);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.moveAside('it is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return this.moveAside('it is not a JSON object');
    }
    return parsed as RawFile;
  }

  private async moveAside(reason: string, cause?: unknown): Promise<RawFile> {
    const stamp = new Date(this.clock()).toISOString().replace(/[:.]/g, '-');
    const movedTo = `${this.path}.corrupt-${stamp}`;
    try {
      await rename(this.path, movedTo);
      // The copy holds whatever tokens were in it: nobody else may read it, whatever its mode was.
      await chmod(movedTo, 0o600).catch(() => undefined);
    } catch (error) {
      if (errno(error) === 'ENOENT') return {};
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `The token file ${this.path} is unusable (${reason}) and could not be moved aside; fix or remove it.`,
        { cause: cause ?? error },
      );
    }
    for (const listener of this.listeners) {
      listener({ type: 'corrupt', path: this.path, movedTo, reason });
    }
    return {};
  }

  private async write(raw: RawFile, owned: Owned): Promise<void> {
    try {
      await this.replace(raw, owned);
    } catch (error) {
      throw pathError(error, this.path, 'write', this.advice);
    }
  }

  private async replace(raw: RawFile, owned: Owned): Promise<void> {
    await this.ensureDir();
    await tokenFileKind(this.path, this.advice);
    const dir = dirname(this.path);
    const temp = join(
      dir,
      `.${basename(this.path)}.${process.pid}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`,
    );
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(raw, null, 2)}\n`);
      // The mode given to open() is subject to the umask; force it.
      await handle.chmod(0o600);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await owned();
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDir(dir);
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable; not every platform lets a folder be opened for this.
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}
