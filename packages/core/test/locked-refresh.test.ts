import { describe, expect, it } from 'vitest';
import { AuthError, ErrorCode, type Token, type TokenStore } from '../src/index.js';
import {
  LockLost,
  lockedRefresh,
  type RefreshSession,
  refreshUnderLock,
} from '../src/manager/locked-refresh.js';
import type { LockedEntry, StoredToken } from '../src/store/store.js';

// The locked refresh alone: a fake store entry under a lock, a fake token endpoint, no server
// and no other process. Times are Unix seconds on a fixed clock.
const now = 1_800_000_000;
const identity = 'https://id.example.org#client_id=app';

function token(name: string, fields: Partial<Token> = {}): Token {
  return {
    access_token: `at-${name}`,
    token_type: 'Bearer',
    expires: now + 300,
    refresh_token: `rt-${name}`,
    refresh_expires: now + 3600,
    scope: 'openid',
    headers: { Authorization: `Bearer at-${name}` },
    ...fields,
  };
}

const expired = (name: string, fields: Partial<Token> = {}) =>
  token(name, { expires: now - 10, ...fields });

/** The backing entry of a fake store: what a lock holder reads and writes. */
class Backing {
  stored: StoredToken | undefined;
  writes: Token[] = [];
  attempts = 0;
  constructor(initial?: Token) {
    if (initial) this.stored = { token: initial, stored_at: now - 100 };
  }
  /** A lock holder's view; `hooks` make the store lose the lock at a chosen moment. */
  entry(
    hooks: {
      loseBeforeWrite?: boolean;
      refuseWrite?: boolean;
      refuseRead?: boolean;
      /** The first writes fail with these store errors (a failover, a full disk). */
      failWrites?: AuthError[];
    } = {},
  ) {
    const lease = new AbortController();
    const entry: LockedEntry = {
      get: async () => {
        if (hooks.refuseRead) {
          lease.abort();
          throw new AuthError(ErrorCode.LOCK_LOST, 'lost');
        }
        return this.stored && structuredClone(this.stored);
      },
      put: async (written) => {
        this.attempts++;
        const failure = hooks.failWrites?.shift();
        if (failure) throw failure;
        if (hooks.refuseWrite) {
          lease.abort();
          throw new AuthError(ErrorCode.LOCK_LOST, 'lost');
        }
        this.writes.push(written);
        this.stored = { token: written, stored_at: now };
      },
      signal: lease.signal,
    };
    return { entry, lease };
  }
}

/** A session whose token endpoint answers `answers` in turn (a token, or an error). */
function session(
  answers: Array<Token | AuthError>,
  options: {
    current?: Token;
    rejected?: boolean;
    otherUser?: boolean;
    onRefresh?: () => void;
  } = {},
) {
  const spent: string[] = [];
  const fake: RefreshSession & { spent: string[] } = {
    spent,
    fits: (t) => t.identity === undefined || t.identity === identity,
    current: () =>
      options.current ? { token: options.current, rejected: options.rejected === true } : undefined,
    now: () => now,
    refresh: async (base) => {
      spent.push(base.refresh_token);
      options.onRefresh?.();
      const answer = answers.shift();
      if (!answer) throw new Error('no more answers');
      if (answer instanceof AuthError) throw answer;
      return answer;
    },
    verify: async (t) => (options.otherUser ? { token: t, otherUser: true } : { token: t }),
    record: (t) => ({ ...t, identity }),
  };
  return fake;
}

const refused = () => new AuthError(ErrorCode.REFRESH_REJECTED, 'refused');

/** A fake store over one backing entry whose n-th lock gets `hooks[n]`. */
function storeOver(backing: Backing, hooks: Array<Parameters<Backing['entry']>[0]> = []) {
  let locks = 0;
  const store = {
    withLock: async <T>(_key: string, fn: (entry: LockedEntry) => Promise<T>) =>
      fn(backing.entry(hooks[locks++] ?? {}).entry),
  } as unknown as TokenStore;
  return { store, locks: () => locks };
}

const about = { host: 'https://id.example.org', client: 'app' };

/** `count` store errors the store expects to pass (a failover's timeouts). */
const transient = (count: number) =>
  Array.from(
    { length: count },
    () =>
      new AuthError(ErrorCode.STORE_ERROR, 'Redis did not answer within 5 s', {
        detail: { transient: true },
      }),
  );

/** A session refreshing `old` into `new`, whose waits are recorded (and `onWait` run), not slept. */
function refreshing(onWait: () => void = () => undefined) {
  const waits: number[] = [];
  const fake = {
    ...session([token('new')], { current: expired('old') }),
    sleep: async (ms: number) => {
      waits.push(ms);
      onWait();
    },
  };
  return { fake, waits };
}

describe('the refresh under the lock', () => {
  it('a write the store expects to pass (a failover) is tried again while the lock is held: the rotated refresh token reaches the store', async () => {
    const backing = new Backing(expired('old'));
    const { fake, waits } = refreshing();
    const { entry } = backing.entry({ failWrites: transient(2) });
    const result = await refreshUnderLock(entry, fake, undefined, undefined);
    expect(result).toMatchObject({ outcome: 'refreshed', token: token('new') });
    expect(result).not.toHaveProperty('storeError');
    expect(backing.attempts).toBe(3);
    expect(backing.stored?.token.refresh_token).toBe('rt-new');
    expect(waits).toEqual([100, 200]);
    expect(fake.spent).toEqual(['rt-old']);
  });

  it('a failover longer than the first tries (Redis Cluster: a primary killed under 128 processes): the write is tried again as long as the lock is ours, and lands', async () => {
    const backing = new Backing(expired('old'));
    const { fake, waits } = refreshing();
    const { entry } = backing.entry({ failWrites: transient(12) });
    const result = await refreshUnderLock(entry, fake, undefined, undefined);
    expect(result).not.toHaveProperty('storeError');
    expect(backing.attempts).toBe(13);
    expect(backing.stored?.token.refresh_token).toBe('rt-new');
    expect(waits).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000, 2000, 2000, 2000, 2000]);
  });

  it('a write that keeps failing transiently is given up after about 60 s of waits (the token used from memory, the error said); a lease that ends stops it sooner', async () => {
    const backing = new Backing(expired('old'));
    const { fake, waits } = refreshing();
    const { entry } = backing.entry({ failWrites: transient(100) });
    const result = await refreshUnderLock(entry, fake, undefined, undefined);
    expect(result).toMatchObject({
      outcome: 'refreshed',
      storeError: { code: 'OIDC_STORE_ERROR' },
    });
    // 100 … 1600, then 2000 ms until 60 s have been waited: the last wait starts before 60 s.
    expect(waits.reduce((a, b) => a + b, 0)).toBe(61_100);
    expect(backing.stored?.token.refresh_token).toBe('rt-old');

    // The lease ends (the store aborts the handle's signal) during the third wait: no more
    // tries, and the token obtained is carried to the next lock (LockLost), never dropped.
    const ending = new Backing(expired('old'));
    const { entry: leased, lease } = ending.entry({ failWrites: transient(100) });
    const { fake: short, waits: pauses } = refreshing(() => {
      if (pauses.length === 3) lease.abort();
    });
    const lost = await refreshUnderLock(leased, short, undefined, undefined).catch((e) => e);
    expect(lost).toBeInstanceOf(LockLost);
    expect((lost as LockLost).carried?.token.refresh_token).toBe('rt-new');
    expect(ending.attempts).toBe(3);
  });

  it('a write that fails for good (not transient) is tried once: the token is used from memory, the error said', async () => {
    const backing = new Backing(expired('old'));
    const fake = { ...session([token('new')], { current: expired('old') }), sleep: async () => {} };
    const full = new AuthError(ErrorCode.STORE_ERROR, 'no space left');
    const { entry } = backing.entry({ failWrites: [full] });
    const result = await refreshUnderLock(entry, fake, undefined, undefined);
    expect(result).toMatchObject({ outcome: 'refreshed', storeError: full });
    expect(backing.attempts).toBe(1);
  });

  it('uses a fresh token another process stored, spending nothing', async () => {
    const backing = new Backing(token('theirs'));
    const fake = session([], { current: expired('mine') });
    const result = await refreshUnderLock(backing.entry().entry, fake, undefined, undefined);
    expect(result).toEqual({
      outcome: 'stored',
      token: token('theirs'),
      source: 'other-process',
      storedAt: now - 100,
    });
    expect(fake.spent).toEqual([]);
  });

  it('spends the stored refresh token once when the stored access token is the one refused, and writes the result with its identity', async () => {
    const backing = new Backing(token('old'));
    const fake = session([token('new')], { current: token('old'), rejected: true });
    const result = await refreshUnderLock(backing.entry().entry, fake, 'at-old', undefined);
    expect(result).toMatchObject({ outcome: 'refreshed', token: token('new') });
    expect(fake.spent).toEqual(['rt-old']);
    expect(backing.writes).toEqual([{ ...token('new'), identity }]);
  });

  it("never uses or spends another identity's entry: refreshes its own token instead", async () => {
    const backing = new Backing(token('other', { identity: 'https://id.example.org#client_id=x' }));
    const fake = session([token('new')], { current: expired('mine') });
    const result = await refreshUnderLock(backing.entry().entry, fake, undefined, undefined);
    expect(result.outcome).toBe('refreshed');
    expect(fake.spent).toEqual(['rt-mine']);
  });

  it('a refusal after another process rotated the token meanwhile: uses what it stored', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([refused()], {
      // The other process (or the Python client, which takes no lock) stores while ours is out.
      onRefresh: () => {
        backing.stored = { token: token('rotated'), stored_at: now };
      },
    });
    const result = await refreshUnderLock(backing.entry().entry, fake, undefined, undefined);
    expect(result).toMatchObject({ outcome: 'stored', source: 'other-process' });
    expect(result.outcome === 'stored' && result.token.access_token).toBe('at-rotated');
  });

  it('a refusal with nothing newer stored ends the session', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([refused()]);
    const result = await refreshUnderLock(backing.entry().entry, fake, undefined, undefined);
    // The refused refresh token is named: the session never sends it again.
    expect(result).toEqual({ outcome: 'refused', spent: expired('old').refresh_token });
    expect(backing.writes).toEqual([]);
  });

  it('a refresh token refused before is not sent again (a retry comes back): refused, nothing spent', async () => {
    const backing = new Backing(expired('old'));
    const spent: string[] = [];
    const fake = {
      ...session([token('never')]),
      refresh: async (base: Token) => {
        spent.push(base.refresh_token);
        return token('never');
      },
      refusedBefore: (refreshToken: string) => refreshToken === expired('old').refresh_token,
    };
    expect(await refreshUnderLock(backing.entry().entry, fake, undefined, undefined)).toEqual({
      outcome: 'refused',
    });
    expect(spent).toEqual([]);
    expect(backing.writes).toEqual([]);
  });

  it('new tokens naming another user are neither used nor stored: the session ends', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('mallory')], { otherUser: true });
    expect(await refreshUnderLock(backing.entry().entry, fake, undefined, undefined)).toEqual({
      outcome: 'refused',
    });
    expect(backing.writes).toEqual([]);
  });

  it('no refresh token, or one about to expire: a login is needed, nothing spent', async () => {
    for (const stored of [
      expired('none', { refresh_token: '' }),
      expired('ending', { refresh_expires: now + 1 }),
    ]) {
      const fake = session([]);
      const result = await refreshUnderLock(
        new Backing(stored).entry().entry,
        fake,
        undefined,
        undefined,
      );
      expect(result).toEqual({ outcome: 'no-refresh-token' });
      expect(fake.spent).toEqual([]);
    }
  });
});

describe('a lock lost on the way', () => {
  it('before the write: nothing is written under it; the token obtained is written under the next lock, the refresh token spent once', async () => {
    const backing = new Backing(expired('old'));
    const first = backing.entry();
    const fake = session([token('new')], {
      onRefresh: () => first.lease.abort(),
    });
    const { store, locks } = storeOver(backing);
    // The first lock is `first` (lost during the refresh); the store hands out fresh ones after.
    let used = false;
    const withLock = (key: string, fn: (entry: LockedEntry) => Promise<unknown>) => {
      if (used) return store.withLock(key, fn);
      used = true;
      return fn(first.entry);
    };
    const result = await lockedRefresh(
      { withLock } as unknown as TokenStore,
      identity,
      fake,
      undefined,
      about,
    );
    expect(result).toMatchObject({ outcome: 'refreshed', token: token('new') });
    expect(fake.spent).toEqual(['rt-old']);
    expect(backing.writes).toEqual([{ ...token('new'), identity }]);
    expect(locks()).toBe(1);
  });

  it('at the write (the store refuses it): carried to the next lock and written there', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('new')]);
    const { store, locks } = storeOver(backing, [{ refuseWrite: true }]);
    const result = await lockedRefresh(store, identity, fake, undefined, about);
    expect(result).toMatchObject({ outcome: 'refreshed', token: token('new') });
    expect(fake.spent).toEqual(['rt-old']);
    expect(backing.writes).toEqual([{ ...token('new'), identity }]);
    expect(locks()).toBe(2);
  });

  it('when reading: tried again under a new lock', async () => {
    const backing = new Backing(token('fresh'));
    const fake = session([], { current: expired('mine') });
    const { store, locks } = storeOver(backing, [{ refuseRead: true }]);
    expect(await lockedRefresh(store, identity, fake, undefined, about)).toMatchObject({
      outcome: 'stored',
    });
    expect(locks()).toBe(2);
  });

  it('twice: a typed store error, the refresh token still spent only once', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('new')]);
    const { store } = storeOver(backing, [{ refuseWrite: true }, { refuseWrite: true }]);
    const error = await lockedRefresh(store, identity, fake, undefined, about).catch((e) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error.code).toBe(ErrorCode.STORE_ERROR);
    expect(error.message).toContain('lost twice');
    expect(fake.spent).toEqual(['rt-old']);
    expect(backing.writes).toEqual([]);
  });

  it('a newer token stored by the process that took the lock over wins over the one carried', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('carried')], {
      onRefresh: () => {
        // While our lease lapsed, another process refreshed and stored its token.
        backing.stored = { token: token('theirs'), stored_at: now };
      },
    });
    const { store } = storeOver(backing, [{ refuseWrite: true }]);
    const result = await lockedRefresh(store, identity, fake, undefined, about);
    expect(result).toMatchObject({ outcome: 'stored', source: 'other-process' });
    expect(result.outcome === 'stored' && result.token.access_token).toBe('at-theirs');
    expect(backing.writes).toEqual([]);
  });
});

describe('a refresh waiting for the lock hears a change notice', () => {
  /** A store whose lock is held by "another process" until `release()`; its wait honours `signal`. */
  function busyStore(backing: Backing) {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = 0;
    const store = {
      get: async () => backing.stored && structuredClone(backing.stored),
      withLock: async (
        _key: string,
        fn: (entry: LockedEntry) => Promise<unknown>,
        options: { signal?: AbortSignal } = {},
      ) => {
        await new Promise<void>((resolve, reject) => {
          options.signal?.addEventListener('abort', () => reject(options.signal?.reason), {
            once: true,
          });
          released.then(resolve);
        });
        locked++;
        return fn(backing.entry().entry);
      },
    } as unknown as TokenStore;
    return { store, release, locked: () => locked };
  }

  function hearing(fake: RefreshSession) {
    const listeners = new Set<(entry?: StoredToken) => void>();
    const notify = (entry?: StoredToken) => {
      for (const listener of listeners) listener(entry);
    };
    const heard: RefreshSession = {
      ...fake,
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    return { heard, notify, listening: () => listeners.size };
  }

  it('another process stored a new token: taken without the lock, the wait ended, nothing spent', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('never')], { current: token('old'), rejected: true });
    const { heard, notify, listening } = hearing(fake);
    const { store, locked } = busyStore(backing);
    const result = lockedRefresh(store, identity, heard, 'at-old', about);
    // A notice before anything new is stored changes nothing: it still waits.
    notify();
    await expect.poll(() => listening()).toBe(1);
    backing.stored = { token: token('theirs'), stored_at: now };
    notify();
    expect(await result).toMatchObject({
      outcome: 'stored',
      source: 'other-process',
      token: token('theirs'),
    });
    expect(fake.spent).toEqual([]);
    expect(locked()).toBe(0);
    expect(listening()).toBe(0);
  });

  it('a notice that carries the new entry: taken from it, without a read, the lock or a refresh', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('never')], { current: token('old'), rejected: true });
    const { heard, notify, listening } = hearing(fake);
    const { store, locked } = busyStore(backing);
    let reads = 0;
    const counting = {
      ...store,
      get: () => {
        reads++;
        return store.get(identity);
      },
    } as TokenStore;
    const result = lockedRefresh(counting, identity, heard, 'at-old', about);
    await expect.poll(() => listening()).toBe(1);
    notify({ token: token('theirs'), stored_at: now });
    expect(await result).toMatchObject({
      outcome: 'stored',
      source: 'other-process',
      token: token('theirs'),
    });
    expect(reads).toBe(0);
    expect(fake.spent).toEqual([]);
    expect(locked()).toBe(0);
  });

  it('a notice that brings the refused token back, or a stale one, is not taken: the refresh goes on under the lock', async () => {
    const backing = new Backing(expired('old'));
    const fake = session([token('new')], { current: token('old'), rejected: true });
    const { heard, notify } = hearing(fake);
    const { store, release, locked } = busyStore(backing);
    const result = lockedRefresh(store, identity, heard, 'at-old', about);
    backing.stored = { token: token('old'), stored_at: now }; // the token the API refused
    notify();
    backing.stored = { token: expired('stale'), stored_at: now - 400 };
    notify();
    release();
    expect(await result).toMatchObject({ outcome: 'refreshed', token: token('new') });
    expect(fake.spent).toEqual(['rt-stale']);
    expect(locked()).toBe(1);
  });
});
