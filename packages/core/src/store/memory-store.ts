import type { Token } from '../token.js';
import { KeyedMutex } from './keyed-mutex.js';
import { type LockedEntry, neverAborted, type StoredToken, type TokenStore } from './store.js';

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
    return this.#entries.delete(host);
  }

  async hosts(): Promise<string[]> {
    return [...this.#entries.keys()];
  }

  async clear(): Promise<void> {
    this.#entries.clear();
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
  }

  /** Nothing secret shows when the store is logged. */
  toJSON(): object {
    return { hosts: [...this.#entries.keys()] };
  }
}
