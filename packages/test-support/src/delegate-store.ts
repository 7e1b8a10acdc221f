/**
 * A token store as far as these helpers need one: core's `TokenStore`, seen structurally (this
 * package depends on nothing it tests).
 */
export interface StoreShape {
  get(host: string): Promise<unknown>;
  put(host: string, token: never): Promise<void>;
  remove(host: string): Promise<boolean>;
  hosts(): Promise<string[]>;
  clear(): Promise<void>;
  withLock(host: string, fn: never): Promise<unknown>;
}

const forwarded = ['get', 'put', 'remove', 'hosts', 'clear', 'withLock'] as const;

/**
 * A store that forwards `get`, `put`, `remove`, `hosts`, `clear` and `withLock` to `inner`,
 * except those given in `overrides`: for tests that watch, pause or fake one part of a store
 * (usually `withLock`). Calls are bound, so stores with private fields work. `subscribe` is
 * not forwarded: pass it in `overrides` to have one.
 */
export function delegateStore<S extends StoreShape>(inner: S, overrides: Partial<S> = {}): S {
  const store: Record<string, unknown> = {};
  for (const name of forwarded) store[name] = (inner[name] as () => unknown).bind(inner);
  return { ...store, ...overrides } as unknown as S;
}

/**
 * A store over `inner` whose subscribers hear what `announce` says — as a Redis store tells a
 * process of a token another one stored — and whose writes fail ("disk full") while `failing`
 * is set: for tests of adoption and of store errors. `E` is the store's event type.
 */
export function pushingStore<S extends StoreShape, E = { type: 'changed'; host: string }>(
  inner: S,
) {
  const listeners = new Set<(event: E) => void>();
  const control = {
    failing: false,
    announce(event: E): void {
      for (const listener of listeners) listener(event);
    },
  };
  const put = (host: string, token: never) =>
    control.failing ? Promise.reject(new Error('disk full')) : inner.put(host, token);
  const subscribe = (listener: (event: E) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const store = delegateStore(inner, { put } as unknown as Partial<S>) as S & {
    subscribe(listener: (event: E) => void): () => void;
  };
  store.subscribe = subscribe;
  return { store, control };
}
