import { base } from '#platform/base';
import { services } from '#platform/services';
import { diagnosticsChannels, publish, type TraceContext, traced } from '../diagnostics.js';
import { bindToken, keyGone, keyringId } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import { send } from '../http.js';
import {
  type IdTokenClaims,
  type IdTokenVerifier,
  type Verified,
  verifierFor,
} from '../id-token.js';
import type { Client } from '../options.js';
import { raceSignal } from '../sleep.js';
import { recordIdentity, type SessionIdentity } from '../store/identity.js';
import type { StoredToken, TokenStore } from '../store/store.js';
import { type Token, unverifiedClaims } from '../token.js';
import { type Current, type CurrentToken, fitsSession } from './current-token.js';
import type { Emitter, TokenManagerEvents, TokenSource } from './events.js';
import type { HealthRecord } from './health.js';
import { lockedRefresh, type RefreshSession, saveToken } from './locked-refresh.js';
import type { LoginPolicy } from './login-policy.js';
import { explainLoginRequired, type StoreHistory } from './login-required.js';
import {
  checkPostLogoutRedirect,
  type LogoutOptions,
  type LogoutResult,
  revokeAll,
} from './logout.js';
import { UnservedOrigins } from './unserved.js';

const noop = () => undefined;

/** The parts a {@link Session} wires together; the manager makes them. */
export interface SessionParts {
  client: Client;
  identity: SessionIdentity;
  store: TokenStore;
  current: CurrentToken;
  health: HealthRecord;
  events: Emitter<TokenManagerEvents>;
  policy: LoginPolicy;
  /** What the store lost or left alone, named when a login is then needed. */
  history: () => StoreHistory;
  /**
   * Change notices of the store for this session, while a refresh waits for the lock (with the
   * entry, when the store sent it along).
   */
  notices?: (listener: (entry?: StoredToken) => void) => () => void;
}

/**
 * One identity's token work, behind the manager's single-flight: the refresh under the lock,
 * a login when the refresh cannot help, storing and adopting what either brought, verifying ID
 * tokens, and telling listeners and diagnostics. The manager's facade decides when; this
 * decides how.
 */
export class Session {
  readonly #parts: SessionParts;
  readonly #verifier: IdTokenVerifier | undefined;
  /** What diagnostics name this session by: its server, and its client when it has one. */
  readonly #about: { host: string; client?: string };
  /** The refresh token the server refused last: never sent again (retries come back). */
  #refused: string | undefined;
  /** 401s from origins the adapters send no token to, reported once per origin. */
  readonly unserved: UnservedOrigins;

  constructor(parts: SessionParts) {
    this.#parts = parts;
    this.unserved = new UnservedOrigins(parts.identity.server, parts.events);
    this.#verifier = verifierFor(parts.client);
    const { server, clientId } = parts.identity;
    this.#about = clientId === undefined ? { host: server } : { host: server, client: clientId };
  }

  /** What the locked refresh needs of this session, for one run (`signal`: the run's). */
  #refreshing(signal: AbortSignal): RefreshSession {
    const { current } = this.#parts;
    return {
      fits: (token) => this.fits(token),
      current: () => current.value,
      now: () => this.#now(),
      refresh: (token) => this.#spend(token, signal),
      verify: (token, from) =>
        this.#verifier
          ? this.#verifier.atRefresh(token, from, current.value?.claims, signal)
          : Promise.resolve({ token }),
      record: (token) => this.record(token),
      refusedBefore: (refreshToken) => refreshToken === this.#refused,
      sleep: (ms, wait) => this.#parts.client.sleep(ms, wait),
      onChange: (listener) => this.#parts.notices?.(listener) ?? noop,
    };
  }

  /** A fresh trace context naming this session (contexts are written to: never shared). */
  about(): TraceContext {
    return { ...this.#about };
  }

  fits(token: Token): boolean {
    return fitsSession(token, {
      key: this.#parts.identity.key,
      dpop: this.#parts.client.dialect.dpop === true,
    });
  }

  /**
   * The token as the store keeps it: with the identity it belongs to (an OpenID Provider's;
   * a py-oidc-auth entry stays exactly as py-oidc-auth-client writes it).
   */
  record(token: Token): Token {
    return recordIdentity(token, this.#parts.identity);
  }

  /** Kept for `health()`: what the last attempt ran into; the store's failures published too. */
  failed(error: AuthError): void {
    this.#parts.health.failed(error);
    if (error.code === ErrorCode.STORE_ERROR) this.#publishStoreError(error);
  }

  /**
   * Takes a token into use and tells listeners (and, for one another process stored, the
   * diagnostics channel). `issuedAt`: Unix seconds it was received or stored.
   */
  adopt(
    token: Token,
    source: TokenSource,
    issuedAt = this.#now(),
    verified: Omit<Verified, 'token'> = {},
  ): Token {
    const { shown } = this.#parts.current.adopt(token, issuedAt, verified);
    if (source === 'other-process') {
      publish(diagnosticsChannels.tokenAdopted, () => ({
        ...this.#about,
        source,
        expires: token.expires,
      }));
    }
    const { server } = this.#parts.identity;
    this.#parts.events.emit('token', {
      host: server,
      source,
      expires: token.expires,
      scope: token.scope,
    });
    return shown;
  }

  /**
   * A refresh under the store's lock; when it cannot help, a login (if one may happen here).
   * `signal`: the run's own (see `Lifetime`).
   */
  async refreshOrLogin(failed: string | undefined, signal: AbortSignal): Promise<Token> {
    const { health, store, identity, events } = this.#parts;
    const renewal = await traced(
      diagnosticsChannels.refresh,
      { ...this.#about, grant: 'refresh_token' },
      async (trace) => {
        const result = await lockedRefresh(
          store,
          identity.key,
          this.#refreshing(signal),
          failed,
          this.about(),
        );
        trace.outcome =
          result.outcome === 'refreshed'
            ? 'success'
            : result.outcome === 'stored'
              ? 'adopted'
              : result.outcome;
        return result;
      },
    ).catch((error: unknown) => {
      health.refreshEnded('error');
      throw error;
    });
    if (renewal.outcome === 'refused') {
      health.refreshEnded('refused');
      if (renewal.spent) this.#refused = renewal.spent;
    }
    if (renewal.outcome === 'refreshed') health.refreshEnded('success');
    if (renewal.outcome === 'refused' || renewal.outcome === 'no-refresh-token') {
      return this.login(renewal.outcome === 'refused', signal);
    }
    if (renewal.outcome === 'stored') {
      return this.adopt(renewal.token, renewal.source, renewal.storedAt);
    }
    // Announced after the lock is released: a listener's own work never runs inside it.
    if (renewal.storeError) this.#storeFailed(renewal.storeError);
    const shown = this.adopt(renewal.token, 'refresh', undefined, renewal);
    events.emit('refresh', { host: identity.server, expires: renewal.token.expires });
    return shown;
  }

  /** Forgets the token in memory (a logout here or elsewhere) and its DPoP key; returns it. */
  forget(): Token | undefined {
    const { current } = this.#parts;
    const token = current.value?.token;
    current.clear();
    this.#refused = undefined;
    const spentKey = keyringId(token?.dpop_key);
    if (spentKey) base.keyring?.remove(spentKey).catch(noop);
    return token;
  }

  /**
   * Logs out: the token in memory forgotten, both it and the stored one revoked at the server
   * where it can (`revoke`), the stored entry removed — which tells every manager on the store
   * to drop it. A failed revocation still logs out here (`revocation: 'failed'`, `error`).
   */
  async logout(options: LogoutOptions, signal: AbortSignal): Promise<LogoutResult> {
    const { store, identity, client, events } = this.#parts;
    const end = options.endSession === true ? {} : options.endSession || undefined;
    checkPostLogoutRedirect(
      end?.postLogoutRedirectUri,
      services.location(),
      client.http.allowInsecureHttp,
    );
    const stored = await store.get(identity.key).catch(() => undefined);
    const held = this.forget();
    const outcome: LogoutResult = {
      removed: false,
      ...(options.revoke === false
        ? { revocation: 'skipped' as const }
        : await revokeAll(client, [held, stored?.token], signal)),
    };
    outcome.removed = await store.remove(identity.key);
    events.emit('logout', {
      host: identity.server,
      source: 'this-manager',
      revocation: outcome.revocation,
    });
    if (end) {
      const url = client.dialect.endSessionUrl(await client.metadata(signal), {
        idTokenHint: held?.id_token ?? stored?.token.id_token,
        postLogoutRedirectUri: end.postLogoutRedirectUri,
      });
      if (url) {
        outcome.endSessionUrl = url;
        (end.navigate ?? services.navigate)(url);
      }
    }
    return outcome;
  }

  /** A logout elsewhere removed the stored entry: the token held is dropped. */
  dropped(): void {
    this.forget();
    this.#parts.events.emit('logout', {
      host: this.#parts.identity.server,
      source: 'other-process',
    });
  }

  /** A new login (`sessionEnded`: the refresh token was refused), stored and taken into use. */
  async login(sessionEnded: boolean, signal: AbortSignal): Promise<Token> {
    let obtained: Token;
    try {
      obtained = await traced(
        diagnosticsChannels.login,
        { ...this.#about, sessionEnded },
        (trace) => this.#parts.policy.login(signal, sessionEnded, trace),
      );
    } catch (error) {
      throw explainLoginRequired(error, this.#parts.history());
    }
    return this.storeLogin(obtained, signal);
  }

  /** A new login's token: its ID token verified, stored, and taken into use. */
  async storeLogin(obtained: Token, signal: AbortSignal): Promise<Token> {
    const { current, store, identity, client, events } = this.#parts;
    this.#refused = undefined;
    const claims = await this.#verifier?.atLogin(obtained, signal);
    // The login's user, kept with the token: every later refresh must name the same one.
    const token = claims?.sub ? { ...obtained, sub: claims.sub } : obtained;
    const storeError = await saveToken((t) => store.put(identity.key, this.record(t)), token);
    if (storeError) this.#storeFailed(storeError);
    // The key of the token this login replaces is spent: out of the keyring (a browser's
    // IndexedDB, a worker's memory), where each login (each service token) would leave one.
    const spentKey = keyringId(current.value?.token.dpop_key);
    if (spentKey && spentKey !== keyringId(token.dpop_key)) {
      base.keyring?.remove(spentKey).catch(noop);
    }
    // A service account's next token is its refresh: announced as such, not as a login.
    const service = client.dialect.serviceGrant !== undefined;
    const renewed = service && current.value !== undefined;
    const shown = this.adopt(token, service ? 'client-credentials' : 'login', undefined, {
      claims,
    });
    if (renewed) events.emit('refresh', { host: identity.server, expires: token.expires });
    return shown;
  }

  /**
   * The verified claims of the current token's ID token (see `TokenManager.claims`): verified
   * now when it was read from the store; a bad one withdraws the tokens.
   */
  async claims(signal: AbortSignal): Promise<IdTokenClaims | undefined> {
    const current = this.#parts.current.value;
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
        signal,
      );
    } catch (error) {
      // Not just unreachable: the ID token is bad, so these tokens may not be the user's.
      if (error instanceof AuthError && error.code === ErrorCode.BAD_RESPONSE) {
        await this.#withdraw(current, error);
      }
      throw error;
    }
    if (this.#parts.current.value === current) current.claims = claims;
    return claims;
  }

  /**
   * Drops tokens whose ID token failed verification after they were taken into use (a login
   * whose key set was unreachable): from memory, and from the store unless another process
   * replaced them meanwhile. The next call logs in.
   */
  async #withdraw(current: Current, error: AuthError): Promise<void> {
    const { current: holder, store, identity, events } = this.#parts;
    if (holder.value !== current) return;
    holder.clear();
    try {
      const stored = await store.get(identity.key);
      if (stored?.token.access_token === current.token.access_token) {
        await store.remove(identity.key);
      }
    } catch {
      // The store cannot be read or written: memory is cleared, the next login replaces it.
    }
    events.emit('tokenWithdrawn', { host: identity.server, reason: error.message });
  }

  /** Spends `from`'s refresh token at the token endpoint (with a proof of its key for DPoP). */
  async #spend(from: Token, signal: AbortSignal): Promise<Token> {
    const { client, current, identity } = this.#parts;
    const { dialect, http } = client;
    const metadata = await client.metadata(signal);
    // A DPoP-bound refresh token is spent with a proof of its own key.
    const key = dialect.dpop ? await current.keyOf(from) : undefined;
    if (dialect.dpop && !key) throw keyGone(identity.server);
    const request = {
      ...dialect.tokenRequest(
        { type: 'refresh_token', refreshToken: from.refresh_token },
        metadata,
      ),
      dpop: key,
    };
    request.secrets.push(from.access_token);
    const answer = await send(
      http,
      request,
      (received) => dialect.parseRefreshAnswer(received, this.#now(), from),
      { signal },
    );
    return bindToken(answer, key, identity.server, true);
  }

  /** A token that could not be saved: told to listeners and to diagnostics subscribers. */
  #storeFailed(error: AuthError): void {
    this.#parts.events.emit('storeError', { host: this.#parts.identity.server, error });
    this.#publishStoreError(error);
  }

  #publishStoreError({ code, message }: AuthError): void {
    publish(diagnosticsChannels.storeError, () => ({ ...this.#about, code, message }));
  }

  #now(): number {
    return this.#parts.client.clock() / 1000;
  }
}
