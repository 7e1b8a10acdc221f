import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  type LockedEntry,
  type MemoryTokenStore,
  type Token,
  type TokenStore,
} from '../src/index.js';
import { asToken, manager, mock, seededStore } from './helpers.js';

/** A memory store that records whether its lock is held, what is written under it, and can lose it. */
function instrumented(inner: MemoryTokenStore) {
  const state = {
    locked: false,
    locks: 0,
    puts: [] as Token[],
    lose: () => {},
    /** Every lock is lost as soon as it is taken. */
    alwaysLost: false,
    /** What the next read under the lock finds instead of the stored entry (another process wrote it). */
    nextRead: undefined as Token | undefined,
  };
  const store: TokenStore = {
    get: (host) => inner.get(host),
    put: (host, token) => inner.put(host, token),
    remove: (host) => inner.remove(host),
    hosts: () => inner.hosts(),
    clear: () => inner.clear(),
    withLock: (host, fn) =>
      inner.withLock(host, async (entry: LockedEntry) => {
        const lost = new AbortController();
        state.locked = true;
        state.locks++;
        state.lose = () => lost.abort(new Error('lock lost'));
        if (state.alwaysLost) state.lose();
        try {
          return await fn({
            get: async () => {
              const written = state.nextRead;
              if (!written) return entry.get();
              state.nextRead = undefined;
              return { token: written, stored_at: Date.now() / 1000 };
            },
            put: async (token) => {
              state.puts.push(token);
              await entry.put(token);
            },
            signal: lost.signal,
          });
        } finally {
          state.locked = false;
        }
      }),
  };
  return { store, state };
}

describe('the refresh lock', () => {
  it('announces events only after the lock is released', async () => {
    const server = await mock();
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    const m = manager(server, { store });
    const heldDuring: boolean[] = [];
    m.on('token', () => heldDuring.push(state.locked));
    m.on('refresh', () => heldDuring.push(state.locked));
    await m.getToken();
    expect(heldDuring).toEqual([false, false, false]);
    expect(state.locks).toBe(1);
  });

  it('a lock lost while refreshing: nothing written under it; the token is stored under the next lock, not refreshed again', async () => {
    const server = await mock();
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    const m = manager(server, {
      store,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        // The answer arrives after this process was paused past its lease.
        if (String(init?.body ?? '').includes('refresh-token')) state.lose();
        return res;
      },
    });
    const token = await m.getToken();
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(state.locks).toBe(2);
    expect(state.puts.map((t) => t.access_token)).toEqual([token.access_token]);
    expect((await seeded.store.get(m.host))?.token.access_token).toBe(token.access_token);
  });

  it('a refused refresh first looks for a token another process stored meanwhile', async () => {
    const server = await mock();
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    const other = asToken(server.issueToken());
    const m = manager(server, {
      store,
      fetch: async (input, init) => {
        if (String(init?.body ?? '').includes('refresh-token')) {
          // Another process (the Python client takes no lock) rotated the refresh token first.
          state.nextRead = other;
          return Response.json(
            { detail: 'Upstream OIDC error: {"error":"invalid_grant"}' },
            { status: 400 },
          );
        }
        return fetch(input, init);
      },
    });
    expect((await m.getToken()).access_token).toBe(other.access_token);
  });

  it('gives up with a clear error when the lock is lost on every try, spending nothing', async () => {
    const server = await mock();
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    state.alwaysLost = true;
    const m = manager(server, { store });
    await expect(m.getToken()).rejects.toMatchObject({ code: ErrorCode.STORE_ERROR });
    expect(state.locks).toBe(2);
    expect(state.puts).toEqual([]);
    expect(server.stats().grants.refresh_token).toBe(0);
  });
});
