import { base } from '#platform/base';
import { services } from '#platform/services';
import { diagnosticsChannels, publish, traced } from '../diagnostics.js';
import type { TokenExchangeOptions } from '../dialects/protocol.js';
import {
  type AnswerHeaders,
  acceptableNonce,
  accessTokenHash,
  bindToken,
  type DpopKey,
  headerOf,
  isDpopType,
  isProofChallenge,
  keyGone,
  keyringId,
  keyShape,
  storedKey,
} from '../dpop.js';
import { inspectCustom } from '../env.js';
import { AuthError, ErrorCode } from '../errors.js';
import {
  finishRedirectLogin,
  isCallback,
  type RedirectLoginOptions,
  type RedirectResult,
  startRedirectLogin,
} from '../flows/redirect-login.js';
import { send } from '../http.js';
import {
  type IdTokenClaims,
  type IdTokenVerifier,
  type Verified,
  verifierFor,
} from '../id-token.js';
import { type Client, type ClientOptions, resolveClient } from '../options.js';
import type { PendingLogins } from '../platform-services.js';
import { raceSignal } from '../sleep.js';
import { type SessionIdentity, sessionIdentity } from '../store/identity.js';
import { MemoryTokenStore } from '../store/memory-store.js';
import type {
  LockedEntry,
  StoreCorruptEvent,
  StoredToken,
  StoreInsecureEvent,
  TokenStore,
} from '../store/store.js';
import { expiryMargin, isFresh, type Token, unverifiedClaims } from '../token.js';
import { printable } from '../urls.js';
import { Emitter, type Listener, type TokenManagerEvents, type TokenSource } from './events.js';
import { legacyVerdict } from './legacy-entry.js';
import { LoginPolicy } from './login-policy.js';
import { checkTarget, TokenExchanges } from './token-exchange.js';

/** What {@link TokenManager} takes besides the client options. */
export interface StoreOption {
  /**
   * Where tokens are kept between runs.
   * @default new FileTokenStore() — the file py-oidc-auth-client uses; for a service account
   * (`grant: 'client_credentials'`), a MemoryTokenStore
   */
  store?: TokenStore;
}

/** Options of {@link TokenManager}: the server (or none: the environment), and the rest. */
export type TokenManagerOptions = ClientOptions & StoreOption;

/** The headers that authenticate one API request. */
export interface AuthHeaders {
  /** `Authorization`: `Bearer …`, or `DPoP …` for a DPoP-bound token. */
  authorization: string;
  /** The `DPoP` proof for this very request (DPoP-bound tokens only). */
  dpop?: string;
}

/** What {@link TokenManager.health} answers: for a readiness probe, never a token. */
export interface ManagerHealth {
  /**
   * `valid`: a token in memory with time left; `refreshing`: a refresh or login is running;
   * `expired`: no usable token in memory yet (none loaded, or it ran out), the next call
   * refreshes; `login-required`: the last attempt needed a login that cannot happen here;
   * `store-unavailable`: the last attempt could not read or write the token store.
   */
  state: 'valid' | 'refreshing' | 'expired' | 'login-required' | 'store-unavailable';
  /** Seconds until the access token in memory expires (negative once it has); null without one. */
  expiresIn: number | null;
  /** When the last refresh ran (ms since the epoch) and how it ended: `success`, `refused`, `error`. */
  lastRefresh: { at: number; outcome: string } | null;
  /** The last failure of a call that needed a token, cleared by the next success. */
  lastError: { at: number; code: string; message: string } | null;
}

/** The token in use, with what the hot path needs precomputed. */
interface Current {
  token: Token;
  /** What callers get: the token without its DPoP key, which stays between manager and store. */
  shown: Token;
  /** The `Authorization` value, already resolved: the hot path returns this very promise. */
  header: Promise<string>;
  /** The same as headers (bearer tokens): returned as it is, nothing allocated. */
  headers: Promise<AuthHeaders>;
  /** A DPoP-bound token's key, and the access token's hash every proof carries. */
  dpop?:
    | {
        key: Promise<DpopKey | undefined>;
        ath: Promise<string>;
        /** Both, once read: later proofs skip the awaits (WebCrypto is asynchronous). */
        ready?: { key: DpopKey | undefined; ath: string };
      }
    | undefined;
  /** Unix seconds when it was issued (received or stored), for the expiry margin. */
  issuedAt: number;
  /** Milliseconds (clock) until which the token is used as it is. */
  freshUntil: number;
  /** The access token failed at a resource server even though its time is not up. */
  rejected: boolean;
  /** The verified claims of its ID token, once verified (at receipt, or by `claims()`). */
  claims?: IdTokenClaims | undefined;
  /** Why its ID token was refused (a refresh's ID token that failed verification). */
  claimsError?: AuthError | undefined;
}

/** A token found or made under the lock, adopted (and announced) after the lock is released. */
interface Renewal extends Verified {
  source: TokenSource;
  issuedAt?: number;
  storeError?: AuthError;
}

const noop = () => undefined;

/**
 * A token as callers get it: its DPoP private key (`dpop_key`) is kept only between the manager
 * and the store, never in what `getToken()` returns, where logging or serialising the token
 * would show it; the identity recorded for the store is left out too.
 */
function withoutKey(token: Token): Token {
  if (token.dpop_key === undefined && token.identity === undefined) return token;
  const { dpop_key: _key, identity: _identity, ...shown } = token;
  return shown;
}

/**
 * The store's lock was lost while we held it (this process was paused past the lease and
 * another took over). Carries a token already obtained with the old refresh token, if any,
 * so that the next attempt can store it instead of spending a refresh token again.
 */
class LockLost extends Error {
  constructor(readonly carried: { token: Token; spent: string } | undefined) {
    super('The token store lock was lost.');
  }
}

/** Reads the entry under the lock; a store that finds its lock lost says so with LOCK_LOST. */
async function lockedRead(
  entry: LockedEntry,
  carried: LockLost['carried'],
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
 * Keeps one host's tokens: hands out a valid access token from memory, refreshes it before it
 * expires, recovers from a 401, and logs in with the device flow when nothing else works — each
 * of these once, however many callers ask at the same time (single-flight), and across
 * processes through the store's lock.
 *
 * @example
 * const manager = new TokenManager({ host: 'https://myapp.example.com' });
 * const header = await manager.authorization();
 * const res = await fetch('https://myapp.example.com/api/data', {
 *   headers: { Authorization: header },
 * });
 * if (res.status === 401) await manager.recover(header.slice('Bearer '.length));
 */
export class TokenManager {
  /**
   * The key of this manager's entry in the store: the normalised host of a py-oidc-auth server,
   * else its session's {@link SessionIdentity.key} (`<issuer>#client_id=…`).
   */
  readonly host: string;
  /**
   * Whose tokens this manager keeps: server, client, grant, scopes, DPoP. Managers of different
   * identities on one store never see each other's entries.
   */
  readonly identity: SessionIdentity;
  /** The origin tokens may be sent to by default. */
  readonly origin: string;
  readonly store: TokenStore;
  /** Tokens are DPoP-bound (`dpop: true`): use {@link authHeaders}, which adds the proof. */
  readonly dpop: boolean;
  readonly #client: Client;
  readonly #events = new Emitter<TokenManagerEvents>();
  readonly #policy: LoginPolicy;
  readonly #verifier: IdTokenVerifier | undefined;
  readonly #lifetime = new AbortController();
  readonly #unsubscribeStore: (() => void) | undefined;
  #current: Current | undefined;
  #loading: Promise<void> | undefined;
  #loaded = false;
  #inflight: { kind: 'renew' | 'login'; promise: Promise<Token> } | undefined;
  readonly #exchanges: TokenExchanges;
  /** What diagnostics name this manager by: its server, and its client when it has one. */
  readonly #about: { host: string; client?: string };
  /** This manager's redirect logins in progress (a tab's sessionStorage, or its own memory). */
  readonly #pendingLogins: PendingLogins;
  /** An entry an earlier version stored under the plain issuer that was left alone, and why. */
  #legacyLeft: { key: string; why: string } | undefined;
  /** The last DPoP key read from a token, by its private part or keyring id (see #keyOf). */
  #parsedKey: { id: string; key: Promise<DpopKey | undefined> } | undefined;
  /**
   * The last `DPoP-Nonce` each resource server's origin gave (RFC 9449 §9), for proofs sent
   * there; the authorization server's own (§8) are kept apart, in the client's HTTP context, so
   * an API and its token endpoint on one origin never get each other's nonce.
   */
  readonly #resourceNonces = new Map<string, string>();
  /** The store's last report of an unreadable token file, named when a login is then needed. */
  #corrupt: StoreCorruptEvent | undefined;
  /** The re-read a store's change notice started, and whether another notice came meanwhile. */
  #rereading: Promise<void> | undefined;
  #rereadAgain = false;
  /** Counts adoptions: a store read started before the last one may be older than it. */
  #generation = 0;
  #closed = false;
  /** For {@link health}: the last refresh, and the last failure of a call that needed a token. */
  #lastRefresh: { at: number; outcome: string } | undefined;
  #lastError: { at: number; code: string; message: string } | undefined;

  constructor(options: TokenManagerOptions = {}) {
    this.#client = resolveClient(options, ['store']);
    const { dialect } = this.#client;
    this.identity =
      dialect.identity ??
      sessionIdentity({
        server: dialect.storeKey,
        grant: dialect.serviceGrant ? 'client_credentials' : 'login',
        dpop: dialect.dpop,
      });
    this.host = this.identity.key;
    this.#pendingLogins = services.pendingLogins(this.host);
    const { server, clientId } = this.identity;
    this.#about = clientId === undefined ? { host: server } : { host: server, client: clientId };
    this.origin = this.#client.dialect.origin;
    this.dpop = this.#client.dialect.dpop === true;
    // A service account's token is its own: never written to the user's shared token file.
    const store =
      options.store ??
      (this.#client.dialect.serviceGrant
        ? new MemoryTokenStore()
        : services.defaultStore(options.env));
    if (typeof store !== 'object' || store === null || typeof store.withLock !== 'function') {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'store must be a TokenStore (get, put, remove, hosts, clear, withLock).',
      );
    }
    this.store = store;
    // Every waiting caller listens on this signal; thousands at once are normal.
    base.unlimitedListeners(this.#lifetime.signal);
    this.#unsubscribeStore = this.store.subscribe?.((event) => {
      const { type, ...rest } = event;
      if (type === 'corrupt') {
        this.#corrupt = rest as StoreCorruptEvent;
        this.#events.emit('storeCorrupt', rest as StoreCorruptEvent);
      } else if (type === 'insecure')
        this.#events.emit('storeInsecure', rest as StoreInsecureEvent);
      else if (type === 'changed') this.#storeChanged(event.host);
    });
    this.#policy = new LoginPolicy(this.#client, this.#events, services.sharedFile(store));
    this.#verifier = verifierFor(this.#client);
    this.#exchanges = new TokenExchanges(this.#client, this.#lifetime.signal);
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof TokenManagerEvents>(
    event: K,
    listener: Listener<TokenManagerEvents[K]>,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * The `Authorization` header value, e.g. `"Bearer eyJ…"`. With a valid token in memory this
   * does no I/O and allocates nothing: one clock read and a comparison. A DPoP-bound token
   * (`dpop: true`) also needs a proof per request: use {@link authHeaders} instead.
   */
  authorization(options?: { signal?: AbortSignal }): Promise<string> {
    const current = this.#current;
    if (!this.#closed && this.#isUsable(current)) return current.header;
    return this.getToken(options).then((token) => `${token.token_type} ${token.access_token}`);
  }

  /**
   * A valid token: from memory when it has at least 60 s left (or half its lifetime, for
   * short-lived tokens); else refreshed; else a device login when allowed; else
   * `OIDC_LOGIN_REQUIRED`. Concurrent callers share one refresh or login.
   */
  async getToken(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    const signal = this.#callerSignal(options.signal);
    await raceSignal(this.#load(), signal);
    const current = this.#current;
    if (this.#isUsable(current)) return current.shown;
    return raceSignal(this.#renew(undefined, false), signal);
  }

  /**
   * Call after a resource server answered 401 to a request that carried `failedAccessToken`.
   * If another caller already replaced that token, returns the new one at once; else refreshes,
   * or logs in again when the refresh is refused (and a login is allowed); else throws.
   * Concurrent callers share one refresh.
   */
  recover(failedAccessToken: string, options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    return traced(diagnosticsChannels.recover, { ...this.#about }, async (trace) => {
      const signal = this.#callerSignal(options.signal);
      await raceSignal(this.#load(), signal);
      const current = this.#current;
      if (current && current.token.access_token !== failedAccessToken && this.#isUsable(current)) {
        trace.outcome = 'replaced';
        return current.shown;
      }
      if (current && current.token.access_token === failedAccessToken) current.rejected = true;
      const token = await raceSignal(this.#renew(failedAccessToken, false), signal);
      trace.outcome = 'renewed';
      return token;
    });
  }

  /**
   * The verified claims of the logged-in user's ID token (`sub`, `email`, … as the provider
   * sends them), after getting a valid token as {@link getToken} does (so it may refresh or
   * log in). The ID token's signature, `iss`, `aud`/`azp`, `exp`, `iat` (and a browser login's
   * `nonce`) were checked when it arrived; one read from the store has its signature, `iss` and
   * `aud` checked again here. Undefined when the provider sent no ID token (no `openid` scope,
   * a py-oidc-auth server, a service account) or `verifyIdToken` is false; `OIDC_BAD_RESPONSE`
   * when the last refresh brought an ID token that failed verification.
   */
  async claims(options: { signal?: AbortSignal } = {}): Promise<IdTokenClaims | undefined> {
    await this.getToken(options);
    const current = this.#current;
    const verifier = this.#verifier;
    if (!current || !verifier) return undefined;
    if (current.claimsError) throw current.claimsError;
    const idToken = current.token.id_token;
    if (current.claims || !idToken) return current.claims;
    // Stored: its lifetime was judged when it arrived; judge the rest as of its own `iat`.
    const iat = Number(unverifiedClaims(idToken)?.iat);
    let claims: IdTokenClaims;
    try {
      claims = await raceSignal(
        verifier.verify(idToken, { receivedAt: Number.isFinite(iat) ? iat * 1000 : 0 }),
        this.#callerSignal(options.signal),
      );
    } catch (error) {
      // Not just unreachable: the ID token is bad, so these tokens may not be the user's.
      if (error instanceof AuthError && error.code === ErrorCode.BAD_RESPONSE) {
        await this.#withdraw(current, error);
      }
      throw error;
    }
    if (this.#current === current) current.claims = claims;
    return claims;
  }

  /**
   * Drops tokens whose ID token failed verification after they were taken into use (a login
   * whose key set was unreachable): from memory, and from the store unless another process
   * replaced them meanwhile. The next call logs in.
   */
  async #withdraw(current: Current, error: AuthError): Promise<void> {
    if (this.#current !== current) return;
    this.#current = undefined;
    this.#generation++;
    try {
      const stored = await this.store.get(this.host);
      if (stored?.token.access_token === current.token.access_token) {
        await this.store.remove(this.host);
      }
    } catch {
      // The store cannot be read or written: memory is cleared, the next login replaces it.
    }
    this.#events.emit('tokenWithdrawn', { ...this.#about, reason: error.message });
  }

  /**
   * The headers for one API request to `url` with `method`: `{ authorization }` for a bearer
   * token (the same object each time, no I/O with a valid token), and with `dpop: true` also a
   * new DPoP proof for this request (`htm`, `htu`, `ath`, the origin's last nonce).
   */
  authHeaders(
    method: string,
    url: string | URL,
    options?: { signal?: AbortSignal },
  ): Promise<AuthHeaders> {
    const current = this.#current;
    if (!this.#closed && this.#isUsable(current)) {
      return current.dpop ? this.#proved(current, method, url) : current.headers;
    }
    return this.getToken(options).then(() => {
      const now = this.#current as Current;
      return now.dpop ? this.#proved(now, method, url) : now.headers;
    });
  }

  /**
   * Reads what an API answer says about DPoP: its `DPoP-Nonce` is kept for the next proof to
   * that origin. True when the answer is a challenge about the proof, not the token
   * (`use_dpop_nonce`, `invalid_dpop_proof`; RFC 9449 §7.1, §9): re-send once with a new proof,
   * without {@link recover} — a refresh cannot cure a proof. The adapters do this for you.
   */
  dpopAnswer(url: string | URL, headers: AnswerHeaders): boolean {
    if (!this.dpop) return false;
    const nonce = acceptableNonce(headerOf(headers, 'dpop-nonce'));
    if (nonce) {
      try {
        this.#resourceNonces.set(new URL(url).origin, nonce);
      } catch {
        // Not a URL: no origin to keep the nonce for.
      }
    }
    return isProofChallenge(headerOf(headers, 'www-authenticate'));
  }

  async #proved(current: Current, method: string, url: string | URL): Promise<AuthHeaders> {
    const dpop = current.dpop as NonNullable<Current['dpop']>;
    if (!dpop.ready) {
      const [key, ath] = await Promise.all([dpop.key, dpop.ath]);
      dpop.ready = { key, ath };
    }
    const { key, ath } = dpop.ready;
    if (!key) throw keyGone(this.identity.server);
    const href = typeof url === 'string' ? url : url.href;
    let nonce: string | undefined;
    if (this.#resourceNonces.size > 0) {
      try {
        nonce = this.#resourceNonces.get(new URL(href).origin);
      } catch {
        nonce = undefined;
      }
    }
    return {
      authorization: `DPoP ${current.token.access_token}`,
      dpop: await key.proof(method, href, nonce ? { nonce, ath } : { ath }),
    };
  }

  /**
   * A token for another service, exchanged for the user's (RFC 8693 token exchange at the
   * provider's token endpoint): `audience` and/or `resource`, optionally `scope`. Kept in memory
   * (never stored) and handed out again while it is fresh and the user's token is the one it
   * came from; concurrent calls for the same target share one exchange. After a 401 from the
   * target, pass `{ fresh: true }` for a new one. The provider must allow the grant for this
   * client; a refusal is `OIDC_SERVER_ERROR` naming the provider's error.
   *
   * @example
   * const archive = await manager.exchange({ audience: 'https://archive.example.org' });
   * await fetch('https://archive.example.org/files', { headers: archive.headers });
   */
  async exchange(
    target: TokenExchangeOptions,
    options: { signal?: AbortSignal; fresh?: boolean } = {},
  ): Promise<Token> {
    checkTarget(target);
    return traced(
      diagnosticsChannels.exchange,
      {
        ...this.#about,
        grant: 'urn:ietf:params:oauth:grant-type:token-exchange',
        ...(target.audience ? { audience: target.audience } : {}),
        ...(target.resource ? { resource: target.resource } : {}),
      },
      () => this.#exchange(target, options),
    );
  }

  async #exchange(
    target: TokenExchangeOptions,
    options: { signal?: AbortSignal; fresh?: boolean },
  ): Promise<Token> {
    const subject = await this.getToken(options);
    const pending = this.#exchanges.get(
      target,
      subject,
      this.#current?.dpop?.key,
      options.fresh === true,
    );
    pending.catch(noop);
    return raceSignal(pending, this.#callerSignal(options.signal));
  }

  /**
   * The manager's state for a readiness probe, synchronous and cheap: no request, no store
   * read. `expiresIn` and the times come from this manager's clock.
   *
   * @example
   * app.get('/healthz', (_req, res) => {
   *   const health = manager.health();
   *   res.status(health.state === 'valid' || health.state === 'refreshing' ? 200 : 503).json(health);
   * });
   */
  health(): ManagerHealth {
    const now = this.#client.clock();
    const current = this.#current;
    const last = this.#lastError;
    let state: ManagerHealth['state'];
    if (this.#inflight) state = 'refreshing';
    else if (this.#isUsable(current)) state = 'valid';
    else if (last?.code === ErrorCode.STORE_ERROR) state = 'store-unavailable';
    else if (last?.code === ErrorCode.LOGIN_REQUIRED) state = 'login-required';
    else state = 'expired';
    return {
      state,
      expiresIn: current ? Math.round(current.token.expires - now / 1000) : null,
      lastRefresh: this.#lastRefresh ? { ...this.#lastRefresh } : null,
      lastError: last ? { ...last } : null,
    };
  }

  /** Forgets that the current access token is good: the next call refreshes. */
  invalidate(): void {
    if (this.#current) this.#current.rejected = true;
  }

  /**
   * Runs a new login now, whatever the stored tokens, and stores the result. A refresh already
   * in flight is let finish first; the login still happens.
   */
  async login(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    const signal = this.#callerSignal(options.signal);
    await raceSignal(this.#load(), signal);
    return raceSignal(this.#renew(undefined, true), signal);
  }

  /**
   * Starts a login by full-page redirect to the provider (authorization code with PKCE; a
   * browser app's login). `state`, `nonce`, the PKCE verifier (and the DPoP key the code is
   * bound to) are kept in this tab's `sessionStorage` for {@link handleRedirect} on the
   * callback page. Navigates there (in a browser) and returns the URL.
   *
   * @example
   * await manager.loginByRedirect({ redirectUri: `${location.origin}/callback` });
   */
  async loginByRedirect(options: RedirectLoginOptions): Promise<string> {
    this.#checkOpen();
    const url = await startRedirectLogin(
      this.#client,
      this.#pendingLogins,
      options,
      this.#callerSignal(undefined),
    );
    (options.navigate ?? services.navigate)(url);
    return url;
  }

  /**
   * On the callback page: finishes the login {@link loginByRedirect} started. Checks the
   * callback (`state`, `iss`, the ID token's `nonce`), exchanges the code, stores the token
   * (other tabs sharing the store adopt it) and returns it with where the user was; undefined
   * when `url` is not a login callback. The callback's `code` and `state` should be removed
   * from the address bar afterwards: `history.replaceState` or `location.replace(returnTo)`.
   *
   * @example
   * const done = await manager.handleRedirect();
   * if (done) location.replace(done.returnTo);
   */
  async handleRedirect(url = services.location() ?? ''): Promise<RedirectResult | undefined> {
    this.#checkOpen();
    let params: URLSearchParams;
    try {
      params = new URL(url).searchParams;
    } catch {
      return undefined;
    }
    if (!isCallback(params)) return undefined;
    const signal = this.#callerSignal(undefined);
    const { token: obtained, returnTo } = await traced(
      diagnosticsChannels.login,
      { ...this.#about, grant: 'authorization_code' },
      () => finishRedirectLogin(this.#client, this.#pendingLogins, url, signal),
    );
    await raceSignal(this.#load(), signal);
    return { token: await this.#storeLogin(obtained), returnTo };
  }

  /** Stops everything: pending calls reject with `OIDC_CLOSED`, listeners are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lifetime.abort(
      new AuthError(ErrorCode.CLOSED, 'The TokenManager was closed while this call waited.'),
    );
    this.#unsubscribeStore?.();
    this.#events.clear();
    this.#exchanges.clear();
  }

  /** What logging a manager shows: never a token. */
  toJSON(): object {
    return { host: this.host, origin: this.origin, closed: this.#closed };
  }

  [inspectCustom](): string {
    return `TokenManager { host: '${this.host}', origin: '${this.origin}' }`;
  }

  #now(): number {
    return this.#client.clock() / 1000;
  }

  #isUsable(current: Current | undefined): current is Current {
    return current !== undefined && !current.rejected && this.#client.clock() < current.freshUntil;
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new AuthError(ErrorCode.CLOSED, 'This TokenManager was closed; create a new one.');
    }
  }

  /** The caller's signal combined with the manager's own, which close() aborts. */
  #callerSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#lifetime.signal]) : this.#lifetime.signal;
  }

  #load(): Promise<void> {
    if (this.#loaded) return Promise.resolve();
    this.#loading ??= this.store
      .get(this.host)
      .then((stored) => stored ?? this.#fromLegacyEntry())
      .then(
        (stored) => {
          if (stored && !this.#current && this.#fits(stored.token)) {
            this.#adopt(stored.token, 'store', stored.stored_at);
          }
          this.#loaded = true;
        },
        (error: unknown) => {
          this.#loading = undefined;
          // Whatever a store throws, for health() the store is what failed.
          this.#failed(
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
    const legacy = this.identity.server;
    if (this.identity.clientId === undefined || !(await this.store.hosts()).includes(legacy)) {
      return undefined;
    }
    const old = await this.store.get(legacy);
    if (!old) return undefined;
    const verdict = legacyVerdict(old.token, this.identity);
    if (verdict !== true) {
      this.#legacyLeft = { key: legacy, why: verdict };
      return undefined;
    }
    const moved = await this.store.withLock(this.host, async (entry) => {
      const now = await entry.get();
      if (now) return now;
      await entry.put(this.#recorded(old.token));
      return old;
    });
    // The old entry goes (its refresh token is now this one's), unless it was replaced meanwhile.
    const again = await this.store.get(legacy);
    if (again?.token.access_token === old.token.access_token) await this.store.remove(legacy);
    return moved;
  }

  /**
   * Another process stored a token for this host (a store that pushes changes told us): adopt
   * it now, so that this process never sends the old one. Nothing happens while a refresh or
   * login runs here (it reads the store under the lock), when the read fails (the 401 path
   * re-reads), or when another adoption happened meanwhile (the read may be older than it).
   */
  #storeChanged(host: string): void {
    if (host !== this.host || this.#closed || this.#inflight || !this.#loaded) return;
    // One re-read at a time, and at most one more for every notice that came meanwhile: a burst
    // of notices (or spoofed ones, from anyone who can publish) costs two reads, not one each.
    if (this.#rereading) {
      this.#rereadAgain = true;
      return;
    }
    const generation = this.#generation;
    this.#rereading = this.store
      .get(this.host)
      .then((stored) => {
        if (!stored || this.#closed || this.#inflight || generation !== this.#generation) return;
        if (!this.#fits(stored.token)) return;
        if (stored.token.access_token === this.#current?.token.access_token) return;
        if (!isFresh(stored.token.expires, stored.stored_at || this.#now(), this.#now())) return;
        this.#adopt(stored.token, 'other-process', stored.stored_at);
      }, noop)
      .finally(() => {
        this.#rereading = undefined;
        if (this.#rereadAgain) {
          this.#rereadAgain = false;
          this.#storeChanged(host);
        }
      });
  }

  #adopt(
    token: Token,
    source: TokenSource,
    issuedAt = this.#now(),
    verified: Omit<Verified, 'token'> = {},
  ): Token {
    this.#generation++;
    const issued = issuedAt > 0 ? issuedAt : this.#now();
    const margin = expiryMargin(token.expires - issued);
    const previous = this.#current;
    // An ID token kept through a refresh keeps the claims verified for it.
    const claims =
      verified.claims ??
      (token.id_token && token.id_token === previous?.token.id_token ? previous.claims : undefined);
    const header = `${token.token_type} ${token.access_token}`;
    const key = isDpopType(token.token_type) ? this.#keyOf(token) : undefined;
    const shown = withoutKey(token);
    this.#current = {
      token,
      shown,
      header: Promise.resolve(header),
      headers: Promise.resolve({ authorization: header }),
      dpop: key ? { key, ath: accessTokenHash(token.access_token) } : undefined,
      issuedAt: issued,
      freshUntil: (token.expires - margin) * 1000,
      rejected: false,
      claims,
      claimsError: verified.claimsError,
    };
    if (source === 'other-process') {
      publish(diagnosticsChannels.tokenAdopted, () => ({
        ...this.#about,
        source,
        expires: token.expires,
      }));
    }
    this.#events.emit('token', {
      host: this.identity.server,
      source,
      expires: token.expires,
      scope: token.scope,
    });
    return shown;
  }

  /**
   * One refresh-or-login at a time, shared by every caller. A forced login does not join a
   * refresh in flight: it waits for it to settle, then logs in.
   */
  #renew(failed: string | undefined, forceLogin: boolean): Promise<Token> {
    const inflight = this.#inflight;
    if (inflight && (!forceLogin || inflight.kind === 'login')) return inflight.promise;
    const settled = inflight ? inflight.promise.then(noop, noop) : Promise.resolve();
    const kind = forceLogin ? 'login' : 'renew';
    const entry = {
      kind,
      promise: settled
        .then(() => (forceLogin ? this.#loginAndStore() : this.#refreshOrLogin(failed)))
        .then(
          (token) => {
            this.#lastError = undefined;
            return token;
          },
          (error: unknown) => {
            const { code, message } =
              error instanceof AuthError
                ? error
                : new AuthError(ErrorCode.STORE_ERROR, String(error));
            this.#lastError = { at: this.#client.clock(), code, message };
            throw error;
          },
        )
        .finally(() => {
          if (this.#inflight === entry) this.#inflight = undefined;
        }),
    } as const;
    // Every caller may have stopped waiting (aborted); the outcome is then nobody's to handle.
    entry.promise.catch(noop);
    this.#inflight = entry;
    return entry.promise;
  }

  async #refreshOrLogin(failed: string | undefined): Promise<Token> {
    let renewal: Renewal | { refused: true } | undefined;
    try {
      renewal = await traced(
        diagnosticsChannels.refresh,
        { ...this.#about, grant: 'refresh_token' },
        async (trace) => {
          const result = await this.#lockedRefresh(failed);
          trace.outcome =
            result === undefined
              ? 'no-refresh-token'
              : 'refused' in result
                ? 'refused'
                : result.source === 'refresh'
                  ? 'success'
                  : 'adopted';
          return result;
        },
      );
    } catch (error) {
      this.#lastRefresh = { at: this.#client.clock(), outcome: 'error' };
      throw error;
    }
    if (renewal && 'refused' in renewal) {
      this.#lastRefresh = { at: this.#client.clock(), outcome: 'refused' };
    } else if (renewal?.source === 'refresh') {
      this.#lastRefresh = { at: this.#client.clock(), outcome: 'success' };
    }
    if (!renewal || 'refused' in renewal) return this.#loginAndStore(renewal?.refused ?? false);
    // Announced after the lock is released: a listener's own work never runs inside it.
    if (renewal.storeError) this.#storeFailed(renewal.storeError);
    const shown = this.#adopt(renewal.token, renewal.source, renewal.issuedAt, renewal);
    if (renewal.source === 'refresh') {
      this.#events.emit('refresh', { ...this.#about, expires: renewal.token.expires });
    }
    return shown;
  }

  /** The refresh under the store's lock, tried again once if the lock is lost meanwhile. */
  async #lockedRefresh(
    failed: string | undefined,
  ): Promise<Renewal | { refused: true } | undefined> {
    let carried: LockLost['carried'];
    for (let attempt = 1; ; attempt++) {
      // The wait for the lock is traced apart: it ends when the lock is held.
      let held: () => void = noop;
      let notHeld: (error: unknown) => void = noop;
      const waiting = traced(diagnosticsChannels.storeLock, { ...this.#about }, () => {
        return new Promise<void>((resolve, reject) => {
          held = resolve;
          notHeld = reject;
        });
      });
      waiting.catch(noop);
      try {
        return await this.store.withLock(this.host, (entry) => {
          held();
          return this.#refreshUnderLock(entry, failed, carried);
        });
      } catch (error) {
        notHeld(error);
        if (!(error instanceof LockLost)) throw error;
        if (attempt === 2) {
          throw new AuthError(
            ErrorCode.STORE_ERROR,
            `The token store's lock for ${this.identity.server} was lost twice while refreshing (was this process paused?); try again.`,
          );
        }
        carried = error.carried ?? carried;
      }
    }
  }

  /** Kept for {@link health}: what the last failed attempt to get a token ran into. */
  #failed(error: unknown): void {
    if (!(error instanceof AuthError)) return;
    this.#lastError = { at: this.#client.clock(), code: error.code, message: error.message };
    if (error.code === ErrorCode.STORE_ERROR) this.#publishStoreError(error);
  }

  /** A token that could not be saved: told to listeners and to diagnostics subscribers. */
  #storeFailed(error: AuthError): void {
    this.#events.emit('storeError', { ...this.#about, error });
    this.#publishStoreError(error);
  }

  #publishStoreError({ code, message }: AuthError): void {
    publish(diagnosticsChannels.storeError, () => ({ ...this.#about, code, message }));
  }

  /**
   * Can this manager use the token? A DPoP manager needs one bound to a key it has (a token
   * without its key is as good as none); a bearer manager one that is not DPoP-bound.
   */
  #fits(token: Token): boolean {
    // An entry that names another identity is never used (a store that merged two keys).
    if (token.identity !== undefined && token.identity !== this.host) return false;
    if (this.dpop) return keyShape(token.dpop_key) !== undefined;
    return token.dpop_key === undefined && !isDpopType(token.token_type);
  }

  /**
   * The DPoP key a token is bound to, parsed once: the same key is asked for on load, on every
   * store change, under the refresh lock and on adoption, and parsing a private key is costly.
   */
  #keyOf(token: Token): Promise<DpopKey | undefined> {
    const id = keyShape(token.dpop_key);
    if (id === undefined) return Promise.resolve(undefined);
    if (this.#parsedKey?.id !== id) this.#parsedKey = { id, key: storedKey(token.dpop_key) };
    return this.#parsedKey.key;
  }

  /** A stored token that can be used as it is instead of refreshing. */
  #usableStored(stored: StoredToken | undefined, failed: string | undefined): boolean {
    const current = this.#current;
    return (
      stored !== undefined &&
      this.#fits(stored.token) &&
      stored.token.access_token !== failed &&
      !(stored.token.access_token === current?.token.access_token && current?.rejected) &&
      isFresh(stored.token.expires, stored.stored_at || this.#now(), this.#now())
    );
  }

  /**
   * Inside the store's lock: a token another process stored meanwhile is used as it is;
   * else the newest refresh token is spent once, and the result persisted before anyone gets
   * the new access token. Undefined means a login is needed. If the lock is lost on the way,
   * nothing is written ({@link LockLost}); a token obtained before is carried to the next try.
   */
  async #refreshUnderLock(
    entry: LockedEntry,
    failed: string | undefined,
    carried: LockLost['carried'],
  ): Promise<Renewal | { refused: true } | undefined> {
    const signal = this.#lifetime.signal;
    const stored = await lockedRead(entry, carried);
    const mine = this.#current?.token.access_token;
    if (this.#usableStored(stored, failed) && stored) {
      const source: TokenSource = stored.token.access_token === mine ? 'store' : 'other-process';
      return { token: stored.token, source, issuedAt: stored.stored_at };
    }
    // A stored token of the other kind (bearer for a DPoP manager, or bound to a key it lacks)
    // is treated as absent: it cannot be used or refreshed here.
    const candidate = stored?.token ?? this.#current?.token;
    const base = candidate && this.#fits(candidate) ? candidate : undefined;
    // Refreshed before the lock was lost, and nobody stored anything newer since: keep that one.
    if (carried && (!base || base.refresh_token === carried.spent)) {
      return this.#persist(entry, { token: carried.token }, carried.spent);
    }
    if (!base?.refresh_token || base.refresh_expires - this.#now() <= 1) return undefined;
    if (entry.signal.aborted) throw new LockLost(undefined);
    const { dialect, http } = this.#client;
    let token: Token;
    try {
      const metadata = await this.#client.metadata(signal);
      // A DPoP-bound refresh token is spent with a proof of its own key.
      const key = this.dpop ? await this.#keyOf(base) : undefined;
      if (this.dpop && !key) throw keyGone(this.identity.server);
      const request = {
        ...dialect.tokenRequest(
          { type: 'refresh_token', refreshToken: base.refresh_token },
          metadata,
        ),
        dpop: key,
      };
      request.secrets.push(base.access_token);
      token = bindToken(
        await send(
          http,
          request,
          (answer) => dialect.parseRefreshAnswer(answer, this.#now(), base),
          {
            signal,
          },
        ),
        key,
        this.identity.server,
        true,
      );
    } catch (error) {
      if (!(error instanceof AuthError && error.code === ErrorCode.REFRESH_REJECTED)) throw error;
      // Refused: another process may have rotated it (one whose lock lapsed, or the Python
      // client, which takes no lock). Use what it stored before declaring the login dead.
      const again = await lockedRead(entry, undefined);
      if (
        again &&
        again.token.refresh_token !== base.refresh_token &&
        this.#usableStored(again, failed)
      ) {
        return { token: again.token, source: 'other-process', issuedAt: again.stored_at };
      }
      return { refused: true };
    }
    const verified = this.#verifier
      ? await this.#verifier.atRefresh(token, base, this.#current?.claims, this.#lifetime.signal)
      : { token };
    // Another user's tokens are never used or stored: the session is over, log in again.
    if (verified.otherUser) return { refused: true };
    return this.#persist(entry, verified, base.refresh_token);
  }

  /**
   * Persists a refreshed token (the rotated refresh token first of all) under the lock. A write
   * the store refuses because the lock was lost is carried to the next try, never dropped.
   */
  async #persist(entry: LockedEntry, verified: Verified, spent: string): Promise<Renewal> {
    const { token } = verified;
    if (entry.signal.aborted) throw new LockLost({ token, spent });
    const storeError = await this.#save((t) => entry.put(t), token);
    if (entry.signal.aborted || storeError?.code === ErrorCode.LOCK_LOST) {
      throw new LockLost({ token, spent });
    }
    return { ...verified, source: 'refresh', ...(storeError ? { storeError } : {}) };
  }

  async #save(put: (token: Token) => Promise<void>, token: Token): Promise<AuthError | undefined> {
    try {
      await put(this.#recorded(token));
      return undefined;
    } catch (error) {
      return error instanceof AuthError
        ? error
        : new AuthError(ErrorCode.STORE_ERROR, 'The new token could not be saved.', {
            cause: error,
          });
    }
  }

  /**
   * The token as the store keeps it: with the identity it belongs to (an OpenID Provider's;
   * a py-oidc-auth entry stays exactly as py-oidc-auth-client writes it).
   */
  #recorded(token: Token): Token {
    return this.identity.clientId === undefined ? token : { ...token, identity: this.host };
  }

  /**
   * A login needed because the token file could not be read says so, and where its content was
   * kept; one needed although an earlier version's entry for the issuer was there says why that
   * entry was not used: "log in" alone would hide why the stored login is gone.
   */
  #namingCorrupt(error: unknown): unknown {
    const corrupt = this.#corrupt;
    const legacy = this.#legacyLeft;
    if (
      (!corrupt && !legacy) ||
      !(error instanceof AuthError) ||
      error.code !== ErrorCode.LOGIN_REQUIRED
    ) {
      return error;
    }
    const why = [
      corrupt
        ? ` Your token file ${corrupt.path} was unreadable (${corrupt.reason}); its content was kept as ${corrupt.movedTo}.`
        : '',
      legacy
        ? ` The store's entry for ${legacy.key} (written by an earlier version of oidc-auth, or by another tool) was left alone: ${legacy.why}, not to client ${printable(this.identity.clientId ?? '').slice(0, 80)} of this session. Remove it once nothing uses it (\`oidc-auth remove ${legacy.key}\`).`
        : '',
    ].join('');
    return new AuthError(error.code, `${error.message}${why}`, {
      ...(error.status !== undefined ? { status: error.status } : {}),
      detail: error.detail,
      cause: error,
    });
  }

  async #loginAndStore(sessionEnded = false): Promise<Token> {
    let obtained: Token;
    try {
      obtained = await traced(
        diagnosticsChannels.login,
        { ...this.#about, sessionEnded },
        (trace) => this.#policy.login(this.#lifetime.signal, sessionEnded, trace),
      );
    } catch (error) {
      throw this.#namingCorrupt(error);
    }
    return this.#storeLogin(obtained);
  }

  /** A new login's token: its ID token verified, stored, and taken into use. */
  async #storeLogin(obtained: Token): Promise<Token> {
    const claims = await this.#verifier?.atLogin(obtained, this.#lifetime.signal);
    // The login's user, kept with the token: every later refresh must name the same one.
    const token = claims?.sub ? { ...obtained, sub: claims.sub } : obtained;
    const storeError = await this.#save((t) => this.store.put(this.host, t), token);
    if (storeError) this.#storeFailed(storeError);
    // The key of the token this login replaces is spent: out of the keyring (a browser's
    // IndexedDB, a worker's memory), where each login (each service token) would leave one.
    const spentKey = keyringId(this.#current?.token.dpop_key);
    if (spentKey && spentKey !== keyringId(token.dpop_key)) {
      base.keyring?.remove(spentKey).catch(noop);
    }
    // A service account's next token is its refresh: announced as such, not as a login.
    const service = this.#client.dialect.serviceGrant !== undefined;
    const renewed = service && this.#current !== undefined;
    const shown = this.#adopt(token, service ? 'client-credentials' : 'login', undefined, {
      claims,
    });
    if (renewed) this.#events.emit('refresh', { ...this.#about, expires: token.expires });
    return shown;
  }
}
