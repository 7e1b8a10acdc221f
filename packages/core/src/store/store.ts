import { AuthError, ErrorCode } from '../errors.js';
import type { Token } from '../token.js';

/**
 * Entries whose longest-lived expiry is this close count as gone, as py-oidc-auth-client
 * evicts them.
 */
export const evictWithinSeconds = 30;

/** A token with the time it was stored, as py-oidc-auth-client's file keeps it. */
export interface StoredToken {
  token: Token;
  /** Unix seconds when the token was stored. */
  stored_at: number;
}

/**
 * One host's entry, seen from inside {@link TokenStore.withLock}: reads and writes that do not
 * wait for the lock, because the caller holds it. Valid only until `fn` returns.
 */
export interface LockedEntry {
  get(): Promise<StoredToken | undefined>;
  /**
   * Writes the entry. A store that can tell its lock was lost (a lease that expired, a fence
   * that moved) refuses the write with `AuthError` code `OIDC_LOCK_LOST` and aborts `signal`.
   * A failure expected to pass (a timeout, a connection lost in a failover) is `OIDC_STORE_ERROR`
   * with `detail.transient: true`: a refreshed token's write is then tried again while the lock
   * is held (for up to about 60 s of waits; a lease that ends stops it), so that its rotated
   * refresh token is not lost to the processes that come next.
   */
  put(token: Token): Promise<void>;
  /**
   * Aborted when the store learns that the lock was lost while `fn` ran (its holder was paused
   * past the lease and another process took it over). Check it before writing or adopting.
   */
  readonly signal: AbortSignal;
}

/**
 * Where tokens live between runs. Keys are normalised hosts (or issuers). `withLock` must be
 * exclusive across every process that shares the store; inside it, the entry is read and
 * written through the {@link LockedEntry} handle (the store's own `put` would wait for the lock
 * the caller holds). No ambient state: stores never use `AsyncLocalStorage`, so they add no
 * cost to the host process's promises.
 *
 * A networked store (Redis, a database) fits the same shape: `withLock` becomes a lease, and
 * the handle's `put` can check a fence.
 */
export interface TokenStore {
  get(host: string): Promise<StoredToken | undefined>;
  /** Stores a token, taking the host's lock for the write. */
  put(host: string, token: Token): Promise<void>;
  /** Removes one host; true when it was there. */
  remove(host: string): Promise<boolean>;
  /** The hosts with a usable entry. */
  hosts(): Promise<string[]>;
  clear(): Promise<void>;
  /**
   * Runs `fn` holding the host's lock; `fn` reads and writes the entry through `entry`. A store
   * may stop waiting for the lock when `options.signal` aborts (rejecting with its reason, `fn`
   * never run): the manager aborts a wait once another process's new token makes it needless.
   * A store that ignores the signal is correct, only slower.
   */
  withLock<T>(
    host: string,
    fn: (entry: LockedEntry) => Promise<T>,
    options?: { signal?: AbortSignal },
  ): Promise<T>;
  /**
   * Optional: listen for what the store noticed — unreadable content moved aside, a file or
   * folder others can read or write, a token another process stored (`changed`: stores shared
   * by many processes push it so each adopts the new token without polling). Returns the
   * unsubscribe function.
   */
  subscribe?(listener: (event: StoreEvent) => void): () => void;
}

/**
 * Another process (or another store object on the same backend) stored or removed a host's
 * token. A missed one is harmless: the manager re-reads the store under the lock before
 * refreshing.
 */
export interface StoreChangedEvent {
  /** The host key whose entry changed. */
  host: string;
  /**
   * The entry now stored, when the store could hand it out with the notice, checked as its `get`
   * checks a read (authenticated, not older than what the store has seen, not about to be
   * evicted): a listener takes it instead of reading. Each call returns a copy of its own. A
   * function, so that an event logged or serialised shows no token. Absent (a removal, or a
   * store that cannot vouch for what it heard), a listener reads the entry itself.
   */
  entry?: () => StoredToken;
}

/** Reported when a token file or its folder is open to other users. */
export interface StoreInsecureEvent {
  /** The file, or the folder, that is too open. */
  path: string;
  /** Its permission bits, e.g. `0o644`. */
  mode: number;
  /** What is wrong and what happens about it, in a sentence for the user. */
  message: string;
}

/** What a store reports to its subscribers. */
export type StoreEvent =
  | ({ type: 'corrupt' } & StoreCorruptEvent)
  | ({ type: 'insecure' } & StoreInsecureEvent)
  | ({ type: 'changed' } & StoreChangedEvent);

/** Reported when a store file could not be parsed and was moved aside. */
export interface StoreCorruptEvent {
  /** The store file. */
  path: string;
  /** Where the unreadable content now is; nothing was deleted. */
  movedTo: string;
  /** Why it was unusable. */
  reason: string;
}

/**
 * A checked token (see `parseStoredToken`) and the `stored_at` read with it, as a store hands
 * them out: `undefined` when its longest-lived expiry is within 30 s (py-oidc-auth-client's
 * eviction rule); a `stored_at` that is not a number reads as 0.
 * For store authors, so that every store applies the same rule.
 */
export function storedEntry(
  token: Token,
  storedAt: unknown,
  nowSeconds: number,
): StoredToken | undefined {
  if (Math.max(token.expires, token.refresh_expires) - nowSeconds <= evictWithinSeconds) {
    return undefined;
  }
  const at = Number(storedAt);
  return { token, stored_at: Number.isFinite(at) ? at : 0 };
}

/**
 * Whether `error` is a store error its store expects to pass by itself (`OIDC_STORE_ERROR` with
 * `detail.transient: true`: a timeout, a connection lost in a failover): the manager tries such
 * a write again while the lock is held, and a store may try its own commands again.
 */
export function isTransientStoreError(error: unknown): boolean {
  return (
    error instanceof AuthError &&
    error.code === ErrorCode.STORE_ERROR &&
    (error.detail as { transient?: unknown } | undefined)?.transient === true
  );
}

/**
 * The signal of a lock that is never lost (in-process locks). A new one each time: workerd
 * refuses an `AbortController` made at a module's top level, and any use of a signal made while
 * another request was served.
 */
export function neverAborted(): AbortSignal {
  return new AbortController().signal;
}
