import { diagnosticsChannels, type TraceContext, traced } from '../diagnostics.js';
import { AuthError, ErrorCode } from '../errors.js';
import type { IdTokenClaims, Verified } from '../id-token.js';
import { sleep } from '../sleep.js';
import {
  isTransientStoreError,
  type LockedEntry,
  type StoredToken,
  type TokenStore,
} from '../store/store.js';
import { isFresh, type Token } from '../token.js';

/**
 * How a refresh under the store's lock ended:
 * - `stored`: the store already held a usable token (another process refreshed, or ours is
 *   there): used as it is, no refresh token spent;
 * - `refreshed`: the refresh token was spent once and the new token written under the lock
 *   (`storeError` when the write failed for another reason than a lost lock: the token is good,
 *   the next process will not find it);
 * - `refused`: the server refused the refresh token (or the new tokens name another user):
 *   the session is over;
 * - `no-refresh-token`: there is nothing to refresh with: a login is needed.
 */
export type RefreshResult =
  | { outcome: 'stored'; token: Token; source: 'store' | 'other-process'; storedAt: number }
  | {
      outcome: 'refreshed';
      token: Token;
      claims?: IdTokenClaims | undefined;
      claimsError?: AuthError | undefined;
      storeError?: AuthError;
    }
  | { outcome: 'refused'; spent?: string }
  | { outcome: 'no-refresh-token' };

/** What the locked refresh needs of the session it refreshes; tests pass fakes. */
export interface RefreshSession {
  /** Whether the session can use `token` (its identity; DPoP or bearer; its key). */
  fits(token: Token): boolean;
  /** The token in memory, and whether a resource server refused it. */
  current(): { token: Token; rejected: boolean } | undefined;
  /** Unix seconds. */
  now(): number;
  /** Spends `base`'s refresh token: the new token, or `OIDC_REFRESH_REJECTED` when refused. */
  refresh(base: Token): Promise<Token>;
  /** Checks a refresh's ID token (same user as `base`'s login); `otherUser` ends the session. */
  verify(token: Token, base: Token): Promise<Verified>;
  /** The token as the store keeps it (with the session's identity). */
  record(token: Token): Token;
  /** Whether the server already refused this refresh token: it is never sent again. */
  refusedBefore?(refreshToken: string): boolean;
  /** Waits between tries of a write the store expects to pass (the client's `sleep`). */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * Calls `listener` on each notice that the session's stored entry changed (another process
   * stored a token) while this refresh waits for the lock — with the entry when the store sent
   * it along; returns the function that stops it.
   */
  onChange?(listener: (entry?: StoredToken) => void): () => void;
}

/** A token obtained under a lock that was then lost, and the refresh token it cost. */
export interface Carried {
  token: Token;
  spent: string;
}

/**
 * The store's lock was lost while we held it (this process was paused past the lease and
 * another took over). Carries a token already obtained with the old refresh token, if any,
 * so that the next attempt can store it instead of spending a refresh token again.
 */
export class LockLost extends Error {
  constructor(readonly carried: Carried | undefined) {
    super('The token store lock was lost.');
  }
}

/** Reads the entry under the lock; a store that finds its lock lost says so with LOCK_LOST. */
async function lockedRead(
  entry: LockedEntry,
  carried: Carried | undefined,
): Promise<StoredToken | undefined> {
  try {
    return await entry.get();
  } catch (error) {
    if (error instanceof AuthError && error.code === ErrorCode.LOCK_LOST) {
      throw new LockLost(carried);
    }
    throw error;
  }
}

/**
 * Waits before each new try of a write that failed transiently (ms), the last one repeated:
 * the tries go on while the lock is ours (a failover can take longer than any fixed number of
 * tries, and the rotated refresh token must land), for at most `writeRetryMs` in all.
 */
const writeRetries = [100, 200, 400, 800, 1600, 2000] as const;
const writeRetryMs = 60_000;

/** Writes a token; what went wrong comes back typed instead of thrown. */
export async function saveToken(
  put: (token: Token) => Promise<void>,
  token: Token,
): Promise<AuthError | undefined> {
  try {
    await put(token);
    return undefined;
  } catch (error) {
    return error instanceof AuthError
      ? error
      : new AuthError(ErrorCode.STORE_ERROR, 'The new token could not be saved.', {
          cause: error,
        });
  }
}

/** A stored token that can be used as it is instead of refreshing. */
function usableStored(
  session: RefreshSession,
  stored: StoredToken | undefined,
  failed: string | undefined,
): boolean {
  const current = session.current();
  const now = session.now();
  return (
    stored !== undefined &&
    session.fits(stored.token) &&
    stored.token.access_token !== failed &&
    !(stored.token.access_token === current?.token.access_token && current?.rejected) &&
    isFresh(stored.token.expires, stored.stored_at || now, now)
  );
}

/**
 * Persists a refreshed token (the rotated refresh token first of all) under the lock. A write
 * the store refuses because the lock was lost is carried to the next try, never dropped.
 */
async function persist(
  entry: LockedEntry,
  session: RefreshSession,
  verified: Verified,
  spent: string,
): Promise<RefreshResult> {
  const { token } = verified;
  if (entry.signal.aborted) throw new LockLost({ token, spent });
  const write = () => saveToken((t) => entry.put(session.record(t)), token);
  let storeError = await write();
  // A failure the store expects to pass (a failover): tried again while the lock is ours. The
  // rotated refresh token must reach the store, or the next process spends the old one.
  let waited = 0;
  for (let attempt = 0; isTransientStoreError(storeError) && waited < writeRetryMs; attempt++) {
    if (entry.signal.aborted) break;
    const pause = writeRetries[Math.min(attempt, writeRetries.length - 1)] as number;
    await (session.sleep ?? sleep)(pause, entry.signal).catch(noop);
    waited += pause;
    if (entry.signal.aborted) break;
    storeError = await write();
  }
  if (entry.signal.aborted || storeError?.code === ErrorCode.LOCK_LOST) {
    throw new LockLost({ token, spent });
  }
  return {
    outcome: 'refreshed',
    token,
    claims: verified.claims,
    claimsError: verified.claimsError,
    ...(storeError ? { storeError } : {}),
  };
}

/**
 * Inside the store's lock: a token another process stored meanwhile is used as it is; else the
 * newest refresh token is spent once, and the result persisted before anyone gets the new
 * access token. If the lock is lost on the way, nothing is written ({@link LockLost}); a token
 * obtained before is carried to the next try. `failed` is an access token a server refused.
 */
export async function refreshUnderLock(
  entry: LockedEntry,
  session: RefreshSession,
  failed: string | undefined,
  carried: Carried | undefined,
): Promise<RefreshResult> {
  const stored = await lockedRead(entry, carried);
  const current = session.current();
  if (stored && usableStored(session, stored, failed)) {
    const mine = stored.token.access_token === current?.token.access_token;
    return {
      outcome: 'stored',
      token: stored.token,
      source: mine ? 'store' : 'other-process',
      storedAt: stored.stored_at,
    };
  }
  // The newest refresh token of this session: the stored one, unless what is stored is of the
  // other kind (bearer for a DPoP manager, bound to a key it lacks, another identity's), which
  // cannot be used or refreshed here: then the one in memory.
  const base = [stored?.token, current?.token].find(
    (candidate): candidate is Token => candidate !== undefined && session.fits(candidate),
  );
  // Refreshed before the lock was lost, and nobody stored anything newer since: keep that one.
  if (carried && (!base || base.refresh_token === carried.spent)) {
    return persist(entry, session, { token: carried.token }, carried.spent);
  }
  if (!base?.refresh_token || base.refresh_expires - session.now() <= 1) {
    return { outcome: 'no-refresh-token' };
  }
  // Refused once (a caller's or an HTTP client's retry comes back): refused again, unsent.
  if (session.refusedBefore?.(base.refresh_token)) return { outcome: 'refused' };
  if (entry.signal.aborted) throw new LockLost(undefined);
  let token: Token;
  try {
    token = await session.refresh(base);
  } catch (error) {
    if (!(error instanceof AuthError && error.code === ErrorCode.REFRESH_REJECTED)) throw error;
    // Refused: another process may have rotated it (one whose lock lapsed, or the Python
    // client, which takes no lock). Use what it stored before declaring the login dead.
    const again = await lockedRead(entry, undefined);
    if (
      again &&
      again.token.refresh_token !== base.refresh_token &&
      usableStored(session, again, failed)
    ) {
      return {
        outcome: 'stored',
        token: again.token,
        source: 'other-process',
        storedAt: again.stored_at,
      };
    }
    return { outcome: 'refused', spent: base.refresh_token };
  }
  const verified = await session.verify(token, base);
  // Another user's tokens are never used or stored: the session is over, log in again.
  if (verified.otherUser) return { outcome: 'refused' };
  return persist(entry, session, verified, base.refresh_token);
}

const noop = () => undefined;

/**
 * The refresh under the store's lock for `key`, tried again once if the lock is lost meanwhile
 * (with the token already obtained, if any). The wait for the lock is traced apart (`about`
 * names the session): it ends when the lock is held.
 */
export async function lockedRefresh(
  store: TokenStore,
  key: string,
  session: RefreshSession,
  failed: string | undefined,
  about: TraceContext,
): Promise<RefreshResult> {
  let carried: Carried | undefined;
  for (let attempt = 1; ; attempt++) {
    let held: () => void = noop;
    let notHeld: (error: unknown) => void = noop;
    const lockTrace: TraceContext = { ...about };
    const waiting = traced(diagnosticsChannels.storeLock, lockTrace, () => {
      return new Promise<void>((resolve, reject) => {
        held = resolve;
        notHeld = reject;
      });
    });
    waiting.catch(noop);
    // While it waits, another process may store the token it waits to refresh: taken, and the
    // wait for the lock ended (never with a token of its own obtained under a lost lock).
    const wait = carried ? undefined : hearWhileWaiting(store, key, session, failed);
    try {
      return await store.withLock(
        key,
        (entry) => {
          wait?.lockHeld();
          held();
          return refreshUnderLock(entry, session, failed, carried);
        },
        wait ? { signal: wait.signal } : undefined,
      );
    } catch (error) {
      const adopted = wait?.adopted();
      if (adopted) {
        lockTrace.outcome = 'needless';
        held();
        return adopted;
      }
      notHeld(error);
      if (!(error instanceof LockLost)) throw error;
      if (attempt === 2) {
        throw new AuthError(
          ErrorCode.STORE_ERROR,
          `The token store's lock for ${about.host} was lost twice while refreshing (was this process paused?); try again.`,
        );
      }
      carried = error.carried ?? carried;
    } finally {
      wait?.stop();
    }
  }
}

/**
 * Hears the store's change notices while a refresh waits for its lock: on each, the entry the
 * notice carried, or else a read without the lock; a usable token there (not the one a server
 * refused, fresh) ends the wait (`signal`), and is what `adopted()` returns. Once the lock is
 * held, notices change nothing: the refresh reads the entry under the lock itself.
 */
function hearWhileWaiting(
  store: TokenStore,
  key: string,
  session: RefreshSession,
  failed: string | undefined,
) {
  const needless = new AbortController();
  let holding = false;
  let found: RefreshResult | undefined;
  // One read at a time, and one more for the notices that came meanwhile: a burst of notices
  // (or spoofed ones) costs two reads, not one each. The later of them is the one taken.
  let reading = false;
  let again = false;
  let latest: StoredToken | undefined;
  const read = (pushed?: StoredToken): void => {
    if (holding || needless.signal.aborted) return;
    if (reading) {
      again = true;
      latest = pushed;
      return;
    }
    reading = true;
    Promise.resolve()
      .then(() => pushed ?? store.get(key))
      .then((stored) => {
        if (holding || needless.signal.aborted || !stored) return;
        if (!usableStored(session, stored, failed)) return;
        found = {
          outcome: 'stored',
          token: stored.token,
          source: 'other-process',
          storedAt: stored.stored_at,
        };
        needless.abort(new Error('Another process stored a new token: the lock is not needed.'));
      }, noop)
      .finally(() => {
        reading = false;
        if (again) {
          again = false;
          read(latest);
        }
      });
  };
  const stop = session.onChange?.(read) ?? noop;
  return {
    signal: needless.signal,
    lockHeld: () => {
      holding = true;
    },
    adopted: () => (needless.signal.aborted && !holding ? found : undefined),
    stop,
  };
}
