import { delegateStore } from '@oidc-auth/test-support/delegate-store';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ErrorCode,
  type LockedEntry,
  type MemoryTokenStore,
  type Token,
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
    /** The next write under the lock is refused by the store's fence (LOCK_LOST), the signal untouched. */
    fenceNextPut: false,
    /** The next read under the lock is refused: the store found its lock gone. */
    refuseNextRead: false,
  };
  const store = delegateStore(inner, {
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
              if (state.refuseNextRead) {
                state.refuseNextRead = false;
                throw new AuthError(ErrorCode.LOCK_LOST, 'lock lost');
              }
              const written = state.nextRead;
              if (!written) return entry.get();
              state.nextRead = undefined;
              return { token: written, stored_at: Date.now() / 1000 };
            },
            put: async (token) => {
              if (state.fenceNextPut) {
                state.fenceNextPut = false;
                throw new AuthError(ErrorCode.LOCK_LOST, 'refused by the fence');
              }
              state.puts.push(token);
              await entry.put(token);
            },
            signal: lost.signal,
          });
        } finally {
          state.locked = false;
        }
      }),
  });
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

  it('a write the store refuses with LOCK_LOST (its fence): the token is carried to a fresh lock, never refreshed twice', async () => {
    const server = await mock({ rotation: true, reuseDetection: true });
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    state.fenceNextPut = true;
    const m = manager(server, { store });
    const events: string[] = [];
    m.on('storeError', () => events.push('storeError'));
    const token = await m.getToken();
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(server.stats().reuseDetected).toBe(0);
    expect(state.locks).toBe(2);
    expect(state.puts.map((t) => t.access_token)).toEqual([token.access_token]);
    expect(events).toEqual([]);
  });

  it('a read the store refuses with LOCK_LOST: tried again under a fresh lock, spending nothing twice', async () => {
    const server = await mock({ rotation: true, reuseDetection: true });
    const seeded = await seededStore(server, { accessExpiredBy: 10 });
    const { store, state } = instrumented(seeded.store);
    state.refuseNextRead = true;
    const m = manager(server, { store });
    await m.getToken();
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(state.locks).toBe(2);
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
