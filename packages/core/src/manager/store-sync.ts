import { AuthError, ErrorCode } from '../errors.js';
import type { SessionIdentity } from '../store/identity.js';
import type { StoredToken, TokenStore } from '../store/store.js';
import { isFresh, type Token } from '../token.js';
import type { CurrentToken } from './current-token.js';
import { legacyVerdict } from './legacy-entry.js';

const noop = () => undefined;

/** What the store's reader needs of its manager. */
export interface SyncSession {
  /** Whether the session can use `token`. */
  fits(token: Token): boolean;
  /** Takes a stored token into use. */
  adopt(stored: StoredToken, source: 'store' | 'other-process'): void;
  /** A refresh or login runs (it reads the store itself, under the lock). */
  busy(): boolean;
  closed(): boolean;
  /** The token as the store keeps it (with the session's identity). */
  record(token: Token): Token;
  /** The store could not be read. */
  failed(error: AuthError): void;
  /** Unix seconds. */
  now(): number;
  /** The stored entry was removed elsewhere (a logout): drop the token held. */
  dropped(): void;
}

/**
 * Keeps a manager's memory in step with its store, off the request path: one read at start-up
 * (taking over an earlier version's entry when it is this session's), and one re-read per
 * change notice. A read that started before the last adoption is never taken: it may be older.
 */
export class StoreSync {
  readonly #store: TokenStore;
  readonly #identity: SessionIdentity;
  readonly #current: CurrentToken;
  readonly #session: SyncSession;
  #loading: Promise<void> | undefined;
  #loaded = false;
  /** The re-read a store's change notice started, and whether another notice came meanwhile. */
  #rereading: Promise<void> | undefined;
  #rereadAgain = false;
  /** An entry an earlier version stored under the plain issuer that was left alone, and why. */
  #legacyLeft: { key: string; why: string } | undefined;
  /** The entry the latest of those notices carried, if it carried one. */
  #rereadWith: StoredToken | undefined;
  /** A refresh waiting for the store's lock, told of each change notice (see `onChange`). */
  readonly #waiting = new Set<(entry?: StoredToken) => void>();

  constructor(
    store: TokenStore,
    identity: SessionIdentity,
    current: CurrentToken,
    session: SyncSession,
  ) {
    this.#store = store;
    this.#identity = identity;
    this.#current = current;
    this.#session = session;
  }

  async #dropIfRemoved(generation: number): Promise<void> {
    // Unreadable now: no logout on a guess (the next notice, or the 401 path, reads again).
    const hosts = await Promise.resolve()
      .then(() => this.#store.hosts())
      .catch(() => [this.#identity.key]);
    const session = this.#session;
    if (hosts.includes(this.#identity.key) || session.closed() || session.busy()) return;
    if (generation === this.#current.generation && this.#current.value) session.dropped();
  }

  /** Tells `listener` of each change notice for this session until the returned function is called. */
  onChange(listener: (entry?: StoredToken) => void): () => void {
    this.#waiting.add(listener);
    return () => this.#waiting.delete(listener);
  }

  /** An earlier version's entry for the server that was left alone (not this client's), and why. */
  get legacyLeft(): { key: string; why: string } | undefined {
    return this.#legacyLeft;
  }

  /** Reads the store once; a failed read is tried again by the next call. */
  load(): Promise<void> {
    if (this.#loaded) return Promise.resolve();
    this.#loading ??= this.#store
      .get(this.#identity.key)
      .then((stored) => stored ?? this.#fromLegacyEntry())
      .then(
        (stored) => {
          if (stored && !this.#current.value && this.#session.fits(stored.token)) {
            this.#session.adopt(stored, 'store');
          }
          this.#loaded = true;
        },
        (error: unknown) => {
          this.#loading = undefined;
          // Whatever a store throws, for health() the store is what failed.
          this.#session.failed(
            error instanceof AuthError
              ? error
              : new AuthError(ErrorCode.STORE_ERROR, 'The token store could not be read.', {
                  cause: error,
                }),
          );
          throw error;
        },
      );
    return this.#loading;
  }

  /**
   * An OpenID Provider's login that versions before sessions stored under the plain issuer:
   * moved under this identity when it shows it is this client's ({@link legacyVerdict}), else
   * left alone and named when a login is then needed. Never refreshed where it is.
   */
  async #fromLegacyEntry(): Promise<StoredToken | undefined> {
    const { key, server, clientId, grant } = this.#identity;
    // Only a person's OpenID Provider session can have one (a service account never adopts):
    // the others skip the read of every key.
    if (clientId === undefined || grant !== 'login') return undefined;
    if (!(await this.#store.hosts()).includes(server)) return undefined;
    const old = await this.#store.get(server);
    if (!old) return undefined;
    const verdict = legacyVerdict(old.token, this.#identity);
    if (verdict !== true) {
      this.#legacyLeft = { key: server, why: verdict };
      return undefined;
    }
    const moved = await this.#store.withLock(key, async (entry) => {
      const now = await entry.get();
      if (now) return now;
      await entry.put(this.#session.record(old.token));
      return old;
    });
    // The old entry goes (its refresh token is now this one's), unless it was replaced meanwhile.
    const again = await this.#store.get(server);
    if (again?.token.access_token === old.token.access_token) await this.#store.remove(server);
    return moved;
  }

  /**
   * Another process stored a token for this session (a store that pushes changes told us):
   * adopt it now — the entry the notice carried, else one read — so that this process never
   * sends the old one; or removed it (a logout): drop the one held. Nothing happens while a
   * refresh or login runs here (it reads the store under the lock), when the read fails (the
   * 401 path re-reads), or when another adoption happened meanwhile (the read may be older than
   * it).
   */
  changed(host: string, entry?: StoredToken): void {
    const session = this.#session;
    if (host !== this.#identity.key || session.closed()) return;
    // A refresh in flight may still be waiting for the lock: it decides what the notice means.
    for (const listener of this.#waiting) listener(entry);
    if (session.busy() || !this.#loaded) return;
    // One re-read at a time, and at most one more for every notice that came meanwhile: a burst
    // of notices (or spoofed ones, from anyone who can publish) costs two reads, not one each.
    if (this.#rereading) {
      this.#rereadAgain = true;
      this.#rereadWith = entry;
      return;
    }
    const generation = this.#current.generation;
    this.#rereading = Promise.resolve()
      .then(() => entry ?? this.#store.get(this.#identity.key))
      .then((stored) => {
        if (session.closed() || session.busy() || generation !== this.#current.generation) return;
        // Removed elsewhere (a logout in another tab, process or machine): nobody here may send
        // the token after that, whatever its expiry. Only an entry gone from the store's hosts
        // too: one merely unusable here (an older entry put back, which a store hides) is no
        // logout, whoever announces it.
        if (!stored) return this.#current.value ? this.#dropIfRemoved(generation) : undefined;
        if (!session.fits(stored.token)) return;
        if (stored.token.access_token === this.#current.value?.token.access_token) return;
        const now = session.now();
        if (!isFresh(stored.token.expires, stored.stored_at || now, now)) return;
        session.adopt(stored, 'other-process');
      }, noop)
      .finally(() => {
        this.#rereading = undefined;
        if (this.#rereadAgain) {
          this.#rereadAgain = false;
          const latest = this.#rereadWith;
          this.#rereadWith = undefined;
          this.changed(host, latest);
        }
      });
  }
}
