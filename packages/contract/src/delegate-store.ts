import type { TokenStore } from '@oidc-auth/core';

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
