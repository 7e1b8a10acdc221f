import { setMaxListeners } from 'node:events';
import { CodeFlow, cannotDoDeviceFlow } from './code-flow.js';
import { DeviceFlow } from './device-flow.js';
import { AuthError, ErrorCode } from './errors.js';
import { FileTokenStore } from './file-store.js';
import { type HttpContext, send } from './http.js';
import { batchJobVariable, isInteractive } from './interactive.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { type DeviceCodeEvent, writeDeviceCodeToStderr } from './prompt.js';
import type { Dialect } from './protocol.js';
import { raceSignal } from './sleep.js';
import type { StoreCorruptEvent, TokenStore } from './store.js';
import { type DeviceCode, isFresh, type Token } from './token.js';

/** Options of {@link TokenManager}. */
export interface TokenManagerOptions extends ClientOptions {
  /**
   * Where tokens are kept between runs.
   * @default new FileTokenStore() — the file py-oidc-auth-client uses
   */
  store?: TokenStore;
}

/** Where a token the manager now uses came from. */
export type TokenSource = 'store' | 'refresh' | 'login' | 'other-process';

/** Events of {@link TokenManager}; payloads never carry a token. */
export interface TokenManagerEvents {
  /** The manager uses a new token. */
  token: { host: string; source: TokenSource; expires: number; scope: string };
  /** A refresh succeeded. */
  refresh: { host: string; expires: number };
  /** A device login started: the same object `onDeviceCode` gets. */
  deviceCode: DeviceCodeEvent;
  /** A login is needed but cannot happen here; the call fails with `OIDC_LOGIN_REQUIRED`. */
  loginRequired: { host: string; reason: string; command: string };
  /** The token file could not be read and was moved aside. */
  storeCorrupt: StoreCorruptEvent;
  /** A new token could not be saved; it is used from memory, but other processes will not see it. */
  storeError: { host: string; error: AuthError };
}

type Listener<K extends keyof TokenManagerEvents> = (event: TokenManagerEvents[K]) => void;

interface Current {
  token: Token;
  /** Unix seconds when it was issued (received or stored), for the expiry margin. */
  issuedAt: number;
  /** The access token failed at a resource server even though its time is not up. */
  rejected: boolean;
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
  /** The key of this manager's entry in the store (normalised host or issuer). */
  readonly host: string;
  /** The origin tokens may be sent to by default. */
  readonly origin: string;
  readonly store: TokenStore;
  private readonly dialect: Dialect;
  private readonly http: HttpContext;
  private readonly clock: () => number;
  private readonly options: TokenManagerOptions;
  private readonly lifetime = new AbortController();
  private readonly listeners = new Map<keyof TokenManagerEvents, Set<(event: never) => void>>();
  private readonly unsubscribeStore: (() => void) | undefined;
  private readonly deviceFlow: DeviceFlow;
  private current: Current | undefined;
  private loading: Promise<void> | undefined;
  private loaded = false;
  private inflight: Promise<Token> | undefined;
  private closed = false;

  constructor(options: TokenManagerOptions) {
    const resolved = resolveClientOptions(options);
    this.options = options;
    this.dialect = resolved.dialect;
    this.http = resolved.http;
    this.clock = resolved.clock;
    this.host = this.dialect.storeKey;
    this.origin = this.dialect.origin;
    this.store = options.store ?? new FileTokenStore();
    // Every waiting caller listens on this signal; thousands at once are normal.
    setMaxListeners(0, this.lifetime.signal);
    this.unsubscribeStore = this.store.subscribe?.((event) => this.emit('storeCorrupt', event));
    const prompt = options.onDeviceCode ?? writeDeviceCodeToStderr;
    this.deviceFlow = new DeviceFlow({
      ...options,
      dialect: this.dialect,
      onDeviceCode: async (event) => {
        this.emit('deviceCode', event);
        await prompt(event);
      },
    });
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof TokenManagerEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  private emit<K extends keyof TokenManagerEvents>(event: K, payload: TokenManagerEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<K>)(payload);
      } catch {
        // A listener's bug must not break token handling.
      }
    }
  }

  private now(): number {
    return this.clock() / 1000;
  }

  private isUsable(current: Current | undefined): current is Current {
    return (
      current !== undefined &&
      !current.rejected &&
      isFresh(current.token.expires, current.issuedAt, this.now())
    );
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new AuthError(ErrorCode.CLOSED, 'This TokenManager was closed; create a new one.');
    }
  }

  /** The caller's signal combined with the manager's own, which close() aborts. */
  private callerSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.lifetime.signal]) : this.lifetime.signal;
  }

  private load(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.store.get(this.host).then(
      (stored) => {
        if (stored && !this.current) {
          this.adopt(stored.token, 'store', stored.stored_at);
        }
        this.loaded = true;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  private adopt(token: Token, source: TokenSource, issuedAt = this.now()): Token {
    this.current = { token, issuedAt: issuedAt > 0 ? issuedAt : this.now(), rejected: false };
    this.emit('token', { host: this.host, source, expires: token.expires, scope: token.scope });
    return token;
  }

  /**
   * A valid token: from memory when it has at least 60 s left (or half its lifetime, for
   * short-lived tokens); else refreshed; else a device login when allowed; else
   * `OIDC_LOGIN_REQUIRED`. Concurrent callers share one refresh or login.
   */
  async getToken(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.checkOpen();
    const signal = this.callerSignal(options.signal);
    await raceSignal(this.load(), signal);
    const current = this.current;
    if (this.isUsable(current)) return current.token;
    return raceSignal(this.renew(undefined, false), signal);
  }

  /**
   * The `Authorization` header value, e.g. `"Bearer eyJ…"`. With a valid token in memory this
   * does no I/O at all.
   */
  async authorization(options: { signal?: AbortSignal } = {}): Promise<string> {
    const current = this.current;
    if (this.loaded && !this.closed && this.isUsable(current)) {
      return `${current.token.token_type} ${current.token.access_token}`;
    }
    const token = await this.getToken(options);
    return `${token.token_type} ${token.access_token}`;
  }

  /**
   * Call after a resource server answered 401 to a request that carried `failedAccessToken`.
   * If another caller already replaced that token, returns the new one at once; else refreshes,
   * or logs in again when the refresh is refused (and a login is allowed); else throws.
   * Concurrent callers share one refresh.
   */
  async recover(failedAccessToken: string, options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.checkOpen();
    const signal = this.callerSignal(options.signal);
    await raceSignal(this.load(), signal);
    const current = this.current;
    if (current && current.token.access_token !== failedAccessToken && this.isUsable(current)) {
      return current.token;
    }
    if (current && current.token.access_token === failedAccessToken) current.rejected = true;
    return raceSignal(this.renew(failedAccessToken, false), signal);
  }

  /** Forgets that the current access token is good: the next call refreshes. */
  invalidate(): void {
    if (this.current) this.current.rejected = true;
  }

  /** Runs a new device login now, whatever the stored tokens, and stores the result. */
  async login(options: { signal?: AbortSignal } = {}): Promise<Token> {
    this.checkOpen();
    const signal = this.callerSignal(options.signal);
    await raceSignal(this.load(), signal);
    return raceSignal(this.renew(undefined, true), signal);
  }

  /** Stops everything: pending calls reject with `OIDC_CLOSED`, listeners are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort(
      new AuthError(ErrorCode.CLOSED, 'The TokenManager was closed while this call waited.'),
    );
    this.unsubscribeStore?.();
    this.listeners.clear();
  }

  /** One refresh-or-login at a time, shared by every caller. */
  private renew(failed: string | undefined, forceLogin: boolean): Promise<Token> {
    if (!this.inflight) {
      const run = this.doRenew(failed, forceLogin).finally(() => {
        this.inflight = undefined;
      });
      // Every caller may have stopped waiting (aborted); the outcome is then nobody's to handle.
      run.catch(() => undefined);
      this.inflight = run;
    }
    return this.inflight;
  }

  private async doRenew(failed: string | undefined, forceLogin: boolean): Promise<Token> {
    const signal = this.lifetime.signal;
    if (!forceLogin) {
      const renewed = await this.store.withLock(this.host, () => this.refreshUnderLock(failed));
      if (renewed) return renewed;
    }
    return this.loginAndStore(signal);
  }

  /**
   * Inside the store's lock: a token another process stored meanwhile is used as it is;
   * else the newest refresh token is spent once. Undefined means a login is needed.
   */
  private async refreshUnderLock(failed: string | undefined): Promise<Token | undefined> {
    const signal = this.lifetime.signal;
    const stored = await this.store.get(this.host);
    const mine = this.current?.token.access_token;
    if (
      stored &&
      stored.token.access_token !== failed &&
      !(stored.token.access_token === mine && this.current?.rejected) &&
      isFresh(stored.token.expires, stored.stored_at || this.now(), this.now())
    ) {
      const source: TokenSource = stored.token.access_token === mine ? 'store' : 'other-process';
      return this.adopt(stored.token, source, stored.stored_at);
    }
    const base = stored?.token ?? this.current?.token;
    if (!base?.refresh_token || base.refresh_expires - this.now() <= 1) return undefined;
    let token: Token;
    try {
      const request = await this.dialect.tokenRequest(
        { type: 'refresh_token', refreshToken: base.refresh_token },
        signal,
      );
      request.secrets.push(base.access_token);
      token = await send(
        this.http,
        request,
        (answer) => this.dialect.parseRefresh(answer, this.now(), base),
        { signal },
      );
    } catch (error) {
      if (error instanceof AuthError && error.code === ErrorCode.REFRESH_REJECTED) {
        return undefined;
      }
      throw error;
    }
    // Persist the (possibly rotated) refresh token before anyone gets the new access token.
    await this.save(token);
    this.adopt(token, 'refresh');
    this.emit('refresh', { host: this.host, expires: token.expires });
    return token;
  }

  private async save(token: Token): Promise<void> {
    try {
      await this.store.put(this.host, token);
    } catch (error) {
      const wrapped =
        error instanceof AuthError
          ? error
          : new AuthError(ErrorCode.STORE_ERROR, 'The new token could not be saved.', {
              cause: error,
            });
      this.emit('storeError', { host: this.host, error: wrapped });
    }
  }

  private loginAllowed(): { allowed: true } | { allowed: false; reason: string } {
    if (this.options.interactive === true) return { allowed: true };
    if (this.options.interactive === false) {
      return { allowed: false, reason: 'interactive login is switched off' };
    }
    if (this.options.onDeviceCode) return { allowed: true };
    const batch = batchJobVariable();
    if (batch) return { allowed: false, reason: `this is a batch job (${batch} is set)` };
    if (!isInteractive()) return { allowed: false, reason: 'no terminal is attached' };
    return { allowed: true };
  }

  private async loginAndStore(signal: AbortSignal): Promise<Token> {
    const check = this.loginAllowed();
    if (!check.allowed) {
      const command = this.dialect.loginHint;
      this.emit('loginRequired', { host: this.host, reason: check.reason, command });
      throw new AuthError(
        ErrorCode.LOGIN_REQUIRED,
        `No valid token for ${this.host} and no way to log in here: ${check.reason}. Run \`${command}\` in a terminal first (the token is stored and shared), or pass onDeviceCode / interactive: true.`,
      );
    }
    const flow = this.deviceFlow;
    let code: DeviceCode | undefined;
    try {
      code = await flow.getDeviceCode({ signal });
    } catch (error) {
      // A server that cannot do the device flow: a person at a browser can still log in.
      if (!cannotDoDeviceFlow(error) || !this.browserLoginAllowed()) throw error;
    }
    const token = code
      ? await flow.complete(code, { signal })
      : await new CodeFlow({ ...this.options, dialect: this.dialect }).login({ signal });
    await this.save(token);
    return this.adopt(token, 'login');
  }

  private browserLoginAllowed(): boolean {
    if (this.options.interactive === false) return false;
    if (this.options.interactive === true || this.options.onAuthorizationUrl) return true;
    return isInteractive();
  }
}
