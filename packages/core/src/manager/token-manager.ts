import { services } from '#platform/services';
import { diagnosticsChannels, traced } from '../diagnostics.js';
import type { TokenExchangeOptions } from '../dialects/protocol.js';
import type { AnswerHeaders } from '../dpop.js';
import { inspectCustom } from '../env.js';
import { AuthError, ErrorCode } from '../errors.js';
import {
  finishRedirectLogin,
  isCallback,
  pendingLoginsOf,
  type RedirectLoginOptions,
  type RedirectResult,
  startRedirectLogin,
} from '../flows/redirect-login.js';
import type { IdTokenClaims } from '../id-token.js';
import { type Client, type ClientOptions, resolveClient } from '../options.js';
import type { PendingLogins } from '../platform-services.js';
import { raceSignal } from '../sleep.js';
import { identityOf, type SessionIdentity } from '../store/identity.js';
import type { StoreCorruptEvent, StoreInsecureEvent, TokenStore } from '../store/store.js';
import type { Token } from '../token.js';
import { type AuthHeaders, type Current, CurrentToken } from './current-token.js';
import { Emitter, type Listener, type TokenManagerEvents } from './events.js';
import { HealthRecord, type ManagerHealth } from './health.js';
import { Lifetime } from './lifetime.js';
import { LoginPolicy } from './login-policy.js';
import type { LogoutOptions, LogoutResult } from './logout.js';
import { ResourceDpop } from './resource-dpop.js';
import { Session } from './session.js';
import { SingleFlight } from './single-flight.js';
import { storeOf } from './store-of.js';
import { StoreSync } from './store-sync.js';
import { checkTarget, TokenExchanges } from './token-exchange.js';

export type { AuthHeaders, ManagerHealth };

/** What {@link TokenManager} takes besides the client options. */
export interface StoreOption {
  /**
   * Where tokens are kept between runs. Managers of different identities (server, client,
   * grant, scopes, DPoP) may share one: each uses only its own entry.
   * @default new FileTokenStore() — the file py-oidc-auth-client uses; for a service account
   * (`grant: 'client_credentials'`), a MemoryTokenStore
   */
  store?: TokenStore;
}

/** Options of {@link TokenManager}: the server (or none: the environment), and the rest. */
export type TokenManagerOptions = ClientOptions & StoreOption;

/**
 * Keeps one session's tokens: hands out a valid access token from memory, refreshes it before
 * it expires, recovers from a 401, and logs in with the device flow when nothing else works —
 * each of these once, however many callers ask at the same time (single-flight), and across
 * processes through the store's lock. A facade over its parts: the current token
 * (`CurrentToken`), single-flight, the locked refresh, the store's reader (`StoreSync`),
 * resource-server DPoP and health, wired together by `Session`.
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
  readonly #lifetime = new Lifetime();
  readonly #unsubscribeStore: (() => void) | undefined;
  readonly #current: CurrentToken;
  readonly #flight = new SingleFlight<Token>();
  readonly #health: HealthRecord;
  readonly #sync: StoreSync;
  readonly #session: Session;
  readonly #resources: ResourceDpop;
  readonly #exchanges: TokenExchanges;
  readonly #pendingLogins: PendingLogins; // this manager's redirect logins in progress
  #corrupt: StoreCorruptEvent | undefined; // the store's last report of an unreadable file
  #closed = false;

  constructor(options: TokenManagerOptions = {}) {
    this.#client = resolveClient(options, ['store']);
    const { dialect, clock } = this.#client;
    this.identity = identityOf(dialect);
    this.host = this.identity.key;
    this.origin = dialect.origin;
    this.dpop = dialect.dpop === true;
    const store = storeOf(options.store, dialect, options.env);
    this.store = store;
    this.#pendingLogins = pendingLoginsOf(this.host, clock());
    this.#current = new CurrentToken(clock);
    this.#health = new HealthRecord(clock);
    this.#resources = new ResourceDpop(this.identity.server);
    this.#session = new Session({
      client: this.#client,
      identity: this.identity,
      store,
      current: this.#current,
      health: this.#health,
      events: this.#events,
      policy: new LoginPolicy(this.#client, this.#events, services.sharedFile(store)),
      // Read when a login is refused, long after the store's reader below exists.
      history: () => ({
        corrupt: this.#corrupt,
        legacy: this.#sync.legacyLeft,
        clientId: this.identity.clientId,
      }),
      notices: (listener) => this.#sync.onChange(listener),
    });
    this.#sync = new StoreSync(store, this.identity, this.#current, {
      fits: (token) => this.#session.fits(token),
      adopt: (stored, source) => this.#session.adopt(stored.token, source, stored.stored_at),
      busy: () => this.#flight.busy,
      closed: () => this.#closed,
      record: (token) => this.#session.record(token),
      failed: (error) => this.#session.failed(error),
      now: () => clock() / 1000,
      dropped: () => this.#session.dropped(),
    });
    this.#unsubscribeStore = store.subscribe?.((event) => {
      const { type, ...rest } = event;
      if (type === 'corrupt') {
        this.#corrupt = rest as StoreCorruptEvent;
        this.#events.emit('storeCorrupt', rest as StoreCorruptEvent);
      } else if (type === 'insecure')
        this.#events.emit('storeInsecure', rest as StoreInsecureEvent);
      else if (type === 'changed') this.#sync.changed(event.host, event.entry?.());
    });
    this.#exchanges = new TokenExchanges(this.#client, this.#lifetime);
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
    const current = this.#current.value;
    if (!this.#closed && this.#current.usable(current)) return current.header;
    return this.getToken(options).then((token) => `${token.token_type} ${token.access_token}`);
  }

  /**
   * A valid token: from memory when it has at least 60 s left (or half its lifetime, for
   * short-lived tokens); else refreshed; else a device login when allowed; else
   * `OIDC_LOGIN_REQUIRED`. Concurrent callers share one refresh or login.
   */
  async getToken(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    return this.#within(options.signal, async (signal) => {
      await raceSignal(this.#sync.load(), signal);
      const current = this.#current.value;
      if (this.#current.usable(current)) return current.shown;
      return raceSignal(this.#renew(undefined, false), signal);
    });
  }

  /**
   * Call after a resource server answered 401 to a request that carried `failedAccessToken`.
   * If another caller already replaced that token, returns the new one at once; else refreshes,
   * or logs in again when the refresh is refused (and a login is allowed); else throws.
   * Concurrent callers share one refresh.
   */
  recover(failedAccessToken: string, options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    return traced(diagnosticsChannels.recover, this.#session.about(), (trace) =>
      this.#within(options.signal, async (signal) => {
        await raceSignal(this.#sync.load(), signal);
        const current = this.#current.value;
        const replaced = current && current.token.access_token !== failedAccessToken;
        if (replaced && this.#current.usable(current)) {
          trace.outcome = 'replaced';
          return current.shown;
        }
        if (current && !replaced) current.rejected = true;
        const token = await raceSignal(this.#renew(failedAccessToken, false), signal);
        trace.outcome = 'renewed';
        return token;
      }),
    );
  }

  /**
   * The verified claims of the user's ID token (`sub`, `email`, …), after {@link getToken} (it
   * may refresh or log in). Checked on arrival (signature, `iss`, `aud`/`azp`, `exp`, `iat`,
   * `nonce`); one read from the store is checked again. Undefined without an ID token or with
   * `verifyIdToken: false`; `OIDC_BAD_RESPONSE` when the last refresh brought a bad one.
   */
  async claims(options: { signal?: AbortSignal } = {}): Promise<IdTokenClaims | undefined> {
    await this.getToken(options);
    return this.#within(options.signal, (signal) => this.#session.claims(signal));
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
    const current = this.#current.value;
    if (!this.#closed && this.#current.usable(current)) {
      return current.dpop ? this.#resources.headers(current, method, url) : current.headers;
    }
    return this.getToken(options).then(() => {
      const now = this.#current.value as Current;
      return now.dpop ? this.#resources.headers(now, method, url) : now.headers;
    });
  }

  /**
   * Keeps an API answer's `DPoP-Nonce` for the next proof to that origin. True for a challenge
   * about the proof (`use_dpop_nonce`, `invalid_dpop_proof`; RFC 9449 §7.1, §9): re-send once
   * with a new proof, no {@link recover}. The adapters do this for you.
   */
  dpopAnswer(url: string | URL, headers: AnswerHeaders): boolean {
    return this.dpop && this.#resources.answer(url, headers);
  }

  /**
   * Is `url` one this manager itself sends requests to (its server's discovery and endpoints)?
   * A dispatcher-wide interceptor lets those pass untouched: a refresh must not wait on itself.
   */
  ownsUrl(url: string): boolean {
    return this.#client.ownsUrl(url);
  }

  /** An adapter's report of a 401 from an origin it sends no token to: `unservedOrigin`, once. */
  unservedAnswer(url: string | URL, served: readonly string[]): void {
    this.#session.unserved.note(url, served);
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
    const context = {
      ...this.#session.about(),
      grant: 'urn:ietf:params:oauth:grant-type:token-exchange',
      ...(target.audience ? { audience: target.audience } : {}),
      ...(target.resource ? { resource: target.resource } : {}),
    };
    return traced(diagnosticsChannels.exchange, context, async () => {
      const subject = await this.getToken(options);
      const key = this.#current.value?.dpop?.key;
      const pending = this.#exchanges.get(target, subject, key, options.fresh === true);
      pending.catch(() => undefined);
      return this.#within(options.signal, (signal) => raceSignal(pending, signal));
    });
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
    const current = this.#current.value;
    return this.#health.report(this.#flight.busy, this.#current.usable(current), current);
  }

  /** Forgets that the current access token is good: the next call refreshes. */
  invalidate(): void {
    const current = this.#current.value;
    if (current) current.rejected = true;
  }

  /**
   * Logs out everywhere: the tokens are revoked at the server where it can (RFC 7009, refresh
   * token first; `revoke: false` skips it), the stored entry is removed, and every manager on
   * the store — other tabs, processes, machines, as far as the store tells them — drops it.
   * A refresh in flight finishes first. A failed revocation still logs out here: see
   * {@link LogoutResult}, e.g. `const { revocation } = await manager.logout()`. The next call
   * logs in.
   */
  async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    this.#checkOpen();
    return this.#within(options.signal, async (signal) => {
      await raceSignal(this.#flight.settled(), signal);
      return this.#session.logout(options, signal);
    });
  }

  /**
   * Runs a new login now, whatever the stored tokens, and stores the result. A refresh already
   * in flight is let finish first; the login still happens.
   */
  async login(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.#checkOpen();
    return this.#within(options.signal, async (signal) => {
      await raceSignal(this.#sync.load(), signal);
      return raceSignal(this.#renew(undefined, true), signal);
    });
  }

  /**
   * Starts a login by full-page redirect to the provider (authorization code with PKCE; a
   * browser app's login). `state`, `nonce`, the PKCE verifier (and the DPoP key the code is
   * bound to) are kept with this manager's pending logins — in a browser tab its
   * `sessionStorage`, elsewhere (a server, a worker) this manager's memory — for
   * {@link handleRedirect} on the callback page. Navigates there (in a browser) and returns the URL.
   *
   * @example
   * await manager.loginByRedirect({ redirectUri: `${location.origin}/callback` });
   */
  async loginByRedirect(options: RedirectLoginOptions): Promise<string> {
    this.#checkOpen();
    const url = await this.#within(undefined, (signal) =>
      startRedirectLogin(this.#client, this.#pendingLogins, options, signal),
    );
    (options.navigate ?? services.navigate)(url);
    return url;
  }

  /**
   * On the callback page: finishes a login {@link loginByRedirect} started — on this manager
   * (or, in a browser tab, a manager of the same identity before the page load): a callback
   * whose `state` names none of its logins is refused and changes nothing. Checks the callback
   * (`state`, `iss`, the ID token's `nonce`), exchanges the code, stores the token (other tabs
   * sharing the store adopt it) and returns it with where the user was; undefined when `url`
   * is not a login callback. The callback's `code` and `state` should be removed from the
   * address bar afterwards: `history.replaceState` or `location.replace(returnTo)`.
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
    return this.#within(undefined, async (signal) => {
      const { token: obtained, returnTo } = await traced(
        diagnosticsChannels.login,
        { ...this.#session.about(), grant: 'authorization_code' },
        () => finishRedirectLogin(this.#client, this.#pendingLogins, url, signal),
      );
      await raceSignal(this.#sync.load(), signal);
      return { token: await this.#session.storeLogin(obtained, signal), returnTo };
    });
  }

  /** Stops everything: pending calls reject with `OIDC_CLOSED`, listeners are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lifetime.end(
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

  /** One refresh-or-login at a time, shared by every caller (see {@link SingleFlight}). */
  #renew(failed: string | undefined, forceLogin: boolean): Promise<Token> {
    const session = this.#session;
    // The run has a signal of its own: later callers join it, close() ends it.
    return this.#flight.run(forceLogin ? 'login' : 'renew', () =>
      this.#within(undefined, (signal) =>
        this.#health.track(
          forceLogin ? session.login(false, signal) : session.refreshOrLogin(failed, signal),
        ),
      ),
    );
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new AuthError(ErrorCode.CLOSED, 'This TokenManager was closed; create a new one.');
    }
  }

  /**
   * Runs one call with a signal of its own (see `Lifetime`): aborted by the caller's `signal`
   * or by `close()`, and let go of when the call is over.
   */
  async #within<T>(
    caller: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const call = this.#lifetime.call(caller);
    try {
      return await fn(call.signal);
    } finally {
      call.release();
    }
  }
}
