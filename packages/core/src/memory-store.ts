import { AsyncLocalStorage } from 'node:async_hooks';
import { KeyedMutex, type StoredToken, type TokenStore } from './store.js';
import type { Token } from './token.js';

/**
 * A token store that lives in this process only: nothing is written to disk. Good for
 * services that get their first token another way, and for tests.
 *
 * @example
 * const manager = new TokenManager({ host, store: new MemoryTokenStore() });
 */
export class MemoryTokenStore implements TokenStore {
  private readonly entries = new Map<string, StoredToken>();
  private readonly mutex = new KeyedMutex();
  private readonly held = new AsyncLocalStorage<Set<string>>();
  private readonly clock: () => number;

  /** @param options.clock milliseconds since the epoch, for `stored_at` */
  constructor(options: { clock?: () => number } = {}) {
    this.clock = options.clock ?? Date.now;
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const entry = this.entries.get(host);
    return entry ? structuredClone(entry) : undefined;
  }

  async put(host: string, token: Token): Promise<void> {
    this.entries.set(host, structuredClone({ token, stored_at: this.clock() / 1000 }));
  }

  async remove(host: string): Promise<boolean> {
    return this.entries.delete(host);
  }

  async hosts(): Promise<string[]> {
    return [...this.entries.keys()];
  }

  async clear(): Promise<void> {
    this.entries.clear();
  }

  withLock<T>(host: string, fn: () => Promise<T>): Promise<T> {
    const held = this.held.getStore();
    if (held?.has(host)) return fn();
    return this.mutex.run(host, () => this.held.run(new Set([...(held ?? []), host]), fn));
  }
}
