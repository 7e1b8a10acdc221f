import type { Token } from '../token.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  type LockedEntry,
  neverAborted,
  type StoredToken,
  type StoreEvent,
  type TokenStore,
} from './store.js';

/**
 * A token store that lives in this process only: nothing is written to disk. Good for
 * services that get their first token another way, and for tests.
 *
 * @example
 * const manager = new TokenManager({ host, store: new MemoryTokenStore() });
 */
export class MemoryTokenStore implements TokenStore {
  readonly #entries = new Map<string, StoredToken>();
  readonly #mutex = new KeyedMutex();
  readonly #clock: () => number;
  readonly #listeners = new Set<(event: StoreEvent) => void>();

  /** @param options.clock milliseconds since the epoch, for `stored_at` */
  constructor(options: { clock?: () => number } = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const entry = this.#entries.get(host);
    return entry ? structuredClone(entry) : undefined;
  }

  put(host: string, token: Token): Promise<void> {
    return this.#mutex.run(host, async () => this.#write(host, token));
  }

  async remove(host: string): Promise<boolean> {
    const removed = this.#entries.delete(host);
    if (removed) this.#announce(host);
    return removed;
  }

  async hosts(): Promise<string[]> {
    return [...this.#entries.keys()];
  }

  async clear(): Promise<void> {
    const hosts = [...this.#entries.keys()];
    this.#entries.clear();
    for (const host of hosts) this.#announce(host);
  }

  /**
   * Tells the other managers on this store when a session's entry changed: a token stored or
   * removed (a logout). Once the caller's own step is over; a listener's work never runs in it.
   */
  // Bound: a store wrapped with Object.create (a test's or a program's delegate) still works.
  readonly subscribe = (listener: (event: StoreEvent) => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  #announce(host: string): void {
    if (this.#listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of this.#listeners) listener({ type: 'changed', host });
    });
  }

  withLock<T>(host: string, fn: (entry: LockedEntry) => Promise<T>): Promise<T> {
    return this.#mutex.run(host, () =>
      fn({
        get: () => this.get(host),
        put: async (token) => this.#write(host, token),
        signal: neverAborted(),
      }),
    );
  }

  #write(host: string, token: Token): void {
    this.#entries.set(host, structuredClone({ token, stored_at: this.#clock() / 1000 }));
    this.#announce(host);
  }

  /** Nothing secret shows when the store is logged. */
  toJSON(): object {
    return { hosts: [...this.#entries.keys()] };
  }
}
