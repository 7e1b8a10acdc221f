import { AuthError, ErrorCode } from '../errors.js';
import { refuseUnknownOptions } from '../option-names.js';
import { idb } from '../platform/indexed-db.js';
import { followSignals } from '../sleep.js';
import { KeyedMutex } from '../store/keyed-mutex.js';
import {
  type LockedEntry,
  neverAborted,
  type StoredToken,
  type StoreEvent,
  storedEntry,
  type TokenStore,
} from '../store/store.js';
import { parseStoredToken, type Token } from '../token.js';

/** Where a web store keeps its entries: `sessionStorage` or IndexedDB. */
interface Backend {
  read(host: string): Promise<unknown>;
  write(host: string, value: unknown): Promise<void>;
  delete(host: string): Promise<boolean>;
  keys(): Promise<string[]>;
}

/** The Web Locks API, where the browser has it (every current one; not workerd). */
interface LockManagerLike {
  request<T>(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<T>,
  ): Promise<T>;
}

/**
 * The in-page lock of each backend (a database, a key prefix), shared by every store object on
 * it: two objects on one `sessionStorage` prefix must not interleave a read-modify-write.
 */
const pageLocks = new Map<string, KeyedMutex>();

function webLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return typeof locks?.request === 'function' ? locks : undefined;
}

/**
 * The common part of the browser stores: entries checked as every store checks them (a
 * malformed one reads as absent), a per-host lock, and, for a store every tab of the origin
 * shares, the lock taken through the Web Locks API and every write announced on a
 * `BroadcastChannel`, so one tab refreshes and the others adopt its token without a request.
 */
class WebTokenStore implements TokenStore {
  readonly #backend: Backend;
  readonly #name: string;
  readonly #shared: boolean;
  readonly #mutex: KeyedMutex;
  readonly #lockTimeoutMs: number;
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  #channel: BroadcastChannel | undefined;

  constructor(backend: Backend, name: string, shared: boolean, lockTimeoutMs = 0) {
    this.#backend = backend;
    this.#name = name;
    this.#shared = shared;
    this.#lockTimeoutMs = lockTimeoutMs;
    const backendId = `${shared ? 'indexeddb' : 'sessionstorage'}:${name}`;
    let mutex = pageLocks.get(backendId);
    if (!mutex) {
      mutex = new KeyedMutex();
      pageLocks.set(backendId, mutex);
    }
    this.#mutex = mutex;
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const raw = (await this.#backend.read(host)) as { token?: unknown; stored_at?: unknown };
    if (typeof raw !== 'object' || raw === null) return undefined;
    const token = parseStoredToken(raw.token);
    return token ? storedEntry(token, raw.stored_at, Date.now() / 1000) : undefined;
  }

  put(host: string, token: Token): Promise<void> {
    return this.withLock(host, (entry) => entry.put(token));
  }

  async remove(host: string): Promise<boolean> {
    const removed = await this.#backend.delete(host);
    if (removed) this.#announce(host);
    return removed;
  }

  async hosts(): Promise<string[]> {
    const hosts: string[] = [];
    for (const host of await this.#backend.keys()) if (await this.get(host)) hosts.push(host);
    return hosts;
  }

  async clear(): Promise<void> {
    for (const host of await this.#backend.keys()) await this.remove(host);
  }

  withLock<T>(
    host: string,
    fn: (entry: LockedEntry) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const entry: LockedEntry = {
      get: () => this.get(host),
      put: async (token) => {
        await this.#backend.write(host, { token, stored_at: Date.now() / 1000 });
        this.#announce(host);
      },
      signal: neverAborted(),
    };
    const locks = this.#shared ? webLocks() : undefined;
    return locks
      ? this.#webLock(locks, host, () => fn(entry), options.signal)
      : this.#mutex.run(host, () => fn(entry));
  }

  /**
   * `fn` under the Web Lock of `host`. The browser releases a Web Lock when its tab closes: a
   * closed tab never strands a refresh. A wait the caller no longer needs (another tab's token
   * arrived) ends with its signal; a wait past `lockTimeoutMs` (a tab paused in a debugger, a
   * page that hangs) fails typed instead of waiting for ever.
   */
  async #webLock<T>(
    locks: LockManagerLike,
    host: string,
    fn: () => Promise<T>,
    given: AbortSignal | undefined,
  ): Promise<T> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#lockTimeoutMs);
    const { signal, release } = followSignals(given, timeout.signal);
    try {
      return await locks.request(`oidc-auth:${this.#name}:${host}`, { signal }, () => {
        clearTimeout(timer);
        return fn();
      });
    } catch (error) {
      if (!timeout.signal.aborted || given?.aborted) throw error;
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `Another tab has held the token lock for ${host} for over ${this.#lockTimeoutMs} ms (paused in a debugger, or hung?): close or reload it, or try again.`,
        {
          detail: { store: 'indexeddb', database: this.#name, lockTimeoutMs: this.#lockTimeoutMs },
        },
      );
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#shared && !this.#channel && typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`oidc-auth:${this.#name}`);
      this.#channel.onmessage = (message: MessageEvent) => {
        const host = (message.data as { host?: unknown } | null)?.host;
        if (typeof host !== 'string') return;
        for (const each of this.#listeners) each({ type: 'changed', host });
      };
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#channel?.close();
        this.#channel = undefined;
      }
    };
  }

  /** Tells the other tabs (never the token: they read it from the store). */
  #announce(host: string): void {
    if (!this.#shared || typeof BroadcastChannel !== 'function') return;
    const channel = new BroadcastChannel(`oidc-auth:${this.#name}`);
    channel.postMessage({ host });
    channel.close();
  }

  /** Nothing secret shows when the store is logged. */
  toJSON(): object {
    return { store: this.#name };
  }
}

/** Options of {@link IndexedDbTokenStore}. */
export interface IndexedDbTokenStoreOptions {
  /**
   * The IndexedDB database (and the lock and channel names).
   * @default 'oidc-auth'
   */
  database?: string;
  /**
   * How long a refresh waits for another tab's Web Lock before it fails with
   * `OIDC_STORE_ERROR`. The default outlasts the longest refresh a tab may legitimately run
   * (4 attempts of 30 s, plus backoff), as the token file's lock does.
   * @default 300000
   */
  lockTimeoutMs?: number;
}

/**
 * Tokens in IndexedDB, shared by every tab (and Web Worker) of the origin: a refresh runs in
 * one tab under a Web Lock and the others adopt its token from the store when the
 * `BroadcastChannel` says it changed. Survives reloads and browser restarts. Where the Web
 * Locks API or `BroadcastChannel` is missing, each tab locks and refreshes on its own.
 *
 * What is stored can be read by any script running on the origin: see the browser guide on XSS.
 * A DPoP key is not: it is a non-extractable `CryptoKey` (see `DpopKey`).
 */
export class IndexedDbTokenStore extends WebTokenStore {
  constructor(options: IndexedDbTokenStoreOptions = {}) {
    refuseUnknownOptions(options, ['database', 'lockTimeoutMs'], 'IndexedDbTokenStore');
    const database = options.database ?? 'oidc-auth';
    if (typeof database !== 'string' || database === '') {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'database must be a non-empty string.');
    }
    const lockTimeoutMs = options.lockTimeoutMs ?? 300_000;
    if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1) {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        `lockTimeoutMs must be a whole number of milliseconds ≥ 1 (got ${String(lockTimeoutMs)}).`,
      );
    }
    super(
      {
        read: (host) => idb(database, 'tokens', 'readonly', 'reading', (s) => s.get(host)),
        write: async (host, value) => {
          await idb(database, 'tokens', 'readwrite', 'writing', (s) => s.put(value, host));
        },
        delete: async (host) => {
          const count = await idb(database, 'tokens', 'readonly', 'reading', (s) => s.count(host));
          await idb(database, 'tokens', 'readwrite', 'removing', (s) => s.delete(host));
          return count > 0;
        },
        keys: async () =>
          (await idb(database, 'tokens', 'readonly', 'listing', (s) => s.getAllKeys())).map(String),
      },
      database,
      true,
      lockTimeoutMs,
    );
  }
}

/** Options of {@link SessionStorageTokenStore}. */
export interface SessionStorageTokenStoreOptions {
  /**
   * Prefix of the `sessionStorage` keys.
   * @default 'oidc-auth:token:'
   */
  prefix?: string;
}

/**
 * Tokens in `sessionStorage`: this tab only, kept across reloads, gone when the tab closes.
 * Each tab logs in and refreshes on its own. Readable by any script on the origin (XSS).
 */
export class SessionStorageTokenStore extends WebTokenStore {
  constructor(options: SessionStorageTokenStoreOptions = {}) {
    refuseUnknownOptions(options, ['prefix'], 'SessionStorageTokenStore');
    const prefix = options.prefix ?? 'oidc-auth:token:';
    const storage = () => {
      if (typeof sessionStorage === 'undefined') {
        throw new AuthError(
          ErrorCode.STORE_ERROR,
          'sessionStorage is not available here (a worker, or a server): use MemoryTokenStore.',
        );
      }
      return sessionStorage;
    };
    super(
      {
        read: async (host) => {
          const text = storage().getItem(prefix + host);
          if (text === null) return undefined;
          try {
            return JSON.parse(text);
          } catch {
            return undefined;
          }
        },
        write: async (host, value) => {
          try {
            storage().setItem(prefix + host, JSON.stringify(value));
          } catch (cause) {
            throw new AuthError(
              ErrorCode.STORE_ERROR,
              'sessionStorage refused the token (full, or blocked for this site).',
              { cause },
            );
          }
        },
        delete: async (host) => {
          const there = storage().getItem(prefix + host) !== null;
          storage().removeItem(prefix + host);
          return there;
        },
        keys: async () => {
          const keys: string[] = [];
          const all = storage();
          for (let i = 0; i < all.length; i++) {
            const key = all.key(i);
            if (key?.startsWith(prefix)) keys.push(key.slice(prefix.length));
          }
          return keys;
        },
      },
      prefix,
      false,
    );
  }
}
