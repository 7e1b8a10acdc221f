import type { Token } from './token.js';

/** A token with the time it was stored, as py-oidc-auth-client's file keeps it. */
export interface StoredToken {
  token: Token;
  /** Unix seconds when the token was stored. */
  stored_at: number;
}

/**
 * Where tokens live between runs. Keys are normalised hosts (or issuers). Implementations
 * must make `withLock` exclusive across every process that shares the store, and re-entrant
 * within the call that holds it (so `get`/`put` inside `fn` do not wait for themselves).
 *
 * A networked store (Redis, a database) fits the same shape: `withLock` becomes a lease.
 */
export interface TokenStore {
  get(host: string): Promise<StoredToken | undefined>;
  put(host: string, token: Token): Promise<void>;
  /** Removes one host; true when it was there. */
  remove(host: string): Promise<boolean>;
  /** The hosts with a usable entry. */
  hosts(): Promise<string[]>;
  clear(): Promise<void>;
  /** Runs `fn` holding the host's lock. */
  withLock<T>(host: string, fn: () => Promise<T>): Promise<T>;
  /** Optional: listen for unreadable content being moved aside. Returns the unsubscribe function. */
  subscribe?(listener: (event: StoreCorruptEvent) => void): () => void;
}

/** Reported when a store file could not be parsed and was moved aside. */
export interface StoreCorruptEvent {
  /** The store file. */
  path: string;
  /** Where the unreadable content now is; nothing was deleted. */
  movedTo: string;
  /** Why it was unusable. */
  reason: string;
}

/** Serialises async work per key, inside one process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
