import type { StoreEvent, TokenStore } from '@oidc-auth/core';

/**
 * A store that forwards `get`, `put`, `remove`, `hosts`, `clear` and `withLock` to `inner`,
 * except those given in `overrides`: for tests that watch, pause or fake one part of a store
 * (usually `withLock`). Calls are bound, so stores with private fields work. `subscribe` is
 * not forwarded: pass it in `overrides` to have one.
 */
export function delegateStore(inner: TokenStore, overrides: Partial<TokenStore> = {}): TokenStore {
  return {
    get: (host) => inner.get(host),
    put: (host, token) => inner.put(host, token),
    remove: (host) => inner.remove(host),
    hosts: () => inner.hosts(),
    clear: () => inner.clear(),
    withLock: (host, fn) => inner.withLock(host, fn),
    ...overrides,
  };
}

/**
 * A store over `inner` whose subscribers hear what `announce` says — as a Redis store tells a
 * process of a token another one stored — and whose writes fail ("disk full") while `failing`
 * is set: for tests of adoption and of store errors.
 */
export function pushingStore(inner: TokenStore) {
  const listeners = new Set<(event: StoreEvent) => void>();
  const control = {
    failing: false,
    announce(event: StoreEvent): void {
      for (const listener of listeners) listener(event);
    },
  };
  const store = delegateStore(inner, {
    put: (host, token) =>
      control.failing ? Promise.reject(new Error('disk full')) : inner.put(host, token),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  return { store, control };
}
