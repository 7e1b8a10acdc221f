import {
  type AdapterKit,
  type AdapterOptions,
  AuthError,
  type AuthHeaders,
  createAdapterKit,
  ErrorCode,
} from '@oidc-auth/core';
import type { Dispatcher } from 'undici';
import { KeptBody } from './body.js';
import { answerHeader, type DispatchHeaders, hasAuthorization, withAuth } from './headers.js';
import { Hops } from './hops.js';

/** Options of {@link oidcInterceptor}: every adapter option (see `@oidc-auth/core`). */
export type OidcInterceptorOptions = AdapterOptions;

type Dispatch = Dispatcher['dispatch'];
type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Options = Dispatcher.DispatchOptions;
type AnswerHeaders = Record<string, string | string[] | undefined>;
type RawHeaders = NonNullable<Controller['rawHeaders']> | null;

/** The refusal of a redirect interceptor composed before ours: it would follow hops we never see. */
function redirectsBelow(): AuthError {
  return new AuthError(
    ErrorCode.INVALID_OPTIONS,
    'This request would follow redirects below the OIDC interceptor, where it cannot decide each hop: compose it before the redirect interceptor, as in agent.compose(oidcInterceptor(options), interceptors.redirect({ maxRedirections })).',
  );
}

function oldDispatcher(): AuthError {
  return new AuthError(
    ErrorCode.INVALID_OPTIONS,
    "oidcInterceptor() runs on undici 7 or later, and this dispatcher (from undici 6, or Node's own) calls it with the old handler API: compose it onto a dispatcher made with undici 7+, as in new Agent().compose(oidcInterceptor(options)), or use installOidcDispatcher().",
  );
}

/** An interceptor for `dispatcher.compose(…)`. */
export type OidcInterceptor = (dispatch: Dispatch) => Dispatch;

function urlOf(opts: Options): string {
  const origin = String(opts.origin ?? '');
  return origin.endsWith('/') ? origin.slice(0, -1) + opts.path : origin + opts.path;
}

/**
 * A hop that carries nothing of ours: passed on as it is, its answer watched for a 401 (reported
 * once per origin) and for a redirect to an allowed URL (whose hop then gains nothing).
 */
class Watched implements Handler {
  constructor(
    readonly kit: AdapterKit,
    readonly hops: Hops,
    readonly url: string,
    readonly handler: Handler,
  ) {}
  onRequestStart(controller: Controller, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: Controller, status: number, headers: AnswerHeaders, socket: never) {
    this.handler.onRequestUpgrade?.(controller, status, headers, socket);
  }
  onResponseStart(
    controller: Controller,
    status: number,
    headers: AnswerHeaders,
    message?: string,
  ) {
    if (status === 401) this.kit.unserved(status, this.url);
    else if (status >= 300 && status < 400) {
      this.hops.foreignRedirect(this.url, answerHeader(headers, 'location'));
    }
    this.handler.onResponseStart?.(controller, status, headers, message);
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Controller, trailers: AnswerHeaders): void {
    this.handler.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Controller, error: Error): void {
    this.handler.onResponseError?.(controller, error);
  }
}

/** A 401 held back from the caller while the token is recovered. */
interface Held {
  status: number;
  headers: AnswerHeaders;
  message: string | undefined;
  chunks: Buffer[];
}

/**
 * A hop that carries ours: sent with the headers attached, and on a 401 from its (allowed) URL
 * recovered once — the request re-sent when its body can be sent again; else the 401 is handed
 * on after the recovery, and the next request carries the new token.
 */
class Attempt implements Handler, Controller {
  /** The controller of the dispatch under way; the caller's handler sees this object instead. */
  #target: Controller | undefined;
  #paused = false;
  #reason: Error | null = null;
  #started = false;
  #resent = false;
  #held: Held | undefined;
  #sent: AuthHeaders | undefined;
  #failed = false;
  /** The body to send: the caller's, a one-shot one kept as it goes, or its kept bytes again. */
  #body: Options['body'];
  #kept: KeptBody | undefined;

  constructor(
    readonly kit: AdapterKit,
    readonly dispatch: Dispatch,
    readonly opts: Options,
    readonly url: string,
    readonly handler: Handler,
    readonly settled: WeakMap<Promise<AuthHeaders>, AuthHeaders>,
  ) {
    const { body } = opts;
    // One-shot by the kit's own rule (streams, async iterables; every fetch body here).
    this.#kept = kit.isReplayable(body) ? undefined : new KeptBody(body as AsyncIterable<unknown>);
    this.#body = (this.#kept ?? body) as Options['body'];
  }

  get #signal(): AbortSignal | undefined {
    const { signal } = this.opts as { signal?: unknown };
    return signal instanceof AbortSignal ? signal : undefined;
  }

  // The caller's handler sees one controller for the whole request: this object, forwarding to
  // the dispatch under way (the re-send after a 401 runs under a new one); a pause or an abort
  // asked for in between is kept for it.
  get aborted(): boolean {
    return this.#reason !== null || (this.#target?.aborted ?? false);
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null;
  }
  // The answer's headers as they came (undici 8's fetch reads them here, e.g. `Location`).
  get rawHeaders(): RawHeaders {
    return this.#target?.rawHeaders ?? null;
  }
  set rawHeaders(value: RawHeaders) {
    if (this.#target && value !== null) this.#target.rawHeaders = value;
  }
  get rawTrailers(): RawHeaders {
    return this.#target?.rawTrailers ?? null;
  }
  set rawTrailers(value: RawHeaders) {
    if (this.#target && value !== null) this.#target.rawTrailers = value;
  }
  abort(reason: Error): void {
    this.#reason ??= reason;
    this.#target?.abort(reason);
    // Aborted while nothing is under way (the wait for a token, a recovery): end it here.
    if (this.#held || !this.#sent) this.#fail(reason);
  }
  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }

  /**
   * Attaches the headers for this hop and sends it: at once when the manager hands back the
   * headers it handed out before (a bearer token still good: the same settled promise), else
   * when they come. Returns what the dispatch below returned, or true while waiting.
   */
  send(): boolean {
    let pending: Promise<AuthHeaders>;
    try {
      pending = this.kit.headers(this.opts.method, this.url, this.#signal);
    } catch (error) {
      this.#fail(error as Error);
      return true;
    }
    const known = this.settled.get(pending);
    if (known) return this.#go(known);
    pending.then(
      (auth) => {
        if (!this.kit.manager.dpop) this.settled.set(pending, auth);
        this.#go(auth);
      },
      (error: unknown) => this.#fail(error as Error),
    );
    return true;
  }

  #go(auth: AuthHeaders): boolean {
    if (this.#failed) return true;
    this.#sent = auth;
    const headers = withAuth(this.opts.headers as DispatchHeaders, auth);
    try {
      // The caller's body goes as it is; a kept one (or its bytes again) in its place.
      const body = this.#body;
      const opts =
        body === this.opts.body ? { ...this.opts, headers } : { ...this.opts, headers, body };
      return this.dispatch(opts as Options, this);
    } catch (error) {
      this.#fail(error as Error);
      return true;
    }
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.handler.onResponseError?.(this, error);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    // Undici's redirect handler names the hops it follows: one below us would follow them unseen.
    if (Array.isArray((context as { history?: unknown } | undefined)?.history)) {
      controller.abort(redirectsBelow());
      return;
    }
    this.#target = controller;
    if (this.#reason) controller.abort(this.#reason);
    else if (this.#paused) controller.pause();
    if (this.#started) return;
    this.#started = true;
    this.handler.onRequestStart?.(this, context);
  }
  onRequestUpgrade(_: Controller, status: number, headers: AnswerHeaders, socket: never): void {
    this.handler.onRequestUpgrade?.(this, status, headers, socket);
  }
  onResponseStart(_: Controller, status: number, headers: AnswerHeaders, message?: string): void {
    const { kit } = this;
    if (
      status >= 200 &&
      kit.answerMatters(status) &&
      kit.shouldRecover(status, this.url, headers) &&
      !this.#resent
    ) {
      this.#held = { status, headers, message, chunks: [] };
      return;
    }
    this.handler.onResponseStart?.(this, status, headers, message);
  }
  onResponseData(_: Controller, chunk: Buffer): void {
    if (this.#held) this.#held.chunks.push(chunk);
    else this.handler.onResponseData?.(this, chunk);
  }
  onResponseEnd(_: Controller, trailers: AnswerHeaders): void {
    if (this.#held) void this.#recover(this.#held, trailers);
    else this.handler.onResponseEnd?.(this, trailers);
  }
  onResponseError(_: Controller, error: Error): void {
    this.#fail(error);
  }

  /** The one recovery: a new token (or a new DPoP proof), then the re-send or the 401. */
  async #recover(held: Held, trailers: AnswerHeaders): Promise<void> {
    const { kit, handler } = this;
    try {
      const header = (this.#sent as AuthHeaders).authorization;
      await kit.recover(header, this.#signal, held.headers);
      if (this.#failed) return;
      this.#resent = true;
      const kept = this.#kept;
      const again = kept ? kept.again() : this.opts.body;
      this.#kept = undefined;
      if (!kept || again !== undefined) {
        this.#body = again as Options['body'];
        this.#held = undefined;
        this.#sent = undefined;
        this.send();
        return;
      }
      this.#held = undefined;
      handler.onResponseStart?.(this, held.status, held.headers, held.message);
      for (const chunk of held.chunks) handler.onResponseData?.(this, chunk);
      handler.onResponseEnd?.(this, trailers);
    } catch (error) {
      this.#fail(error as Error);
    }
  }
}

/**
 * An undici interceptor that attaches `Authorization: Bearer …` (and with DPoP a proof per hop)
 * to requests for the allowed origins, refreshes before expiry, and on a 401 recovers (refresh,
 * or a new login) and re-sends once — for every request its dispatcher sends: `undici.request`,
 * `undici.fetch`, and Node's global `fetch` once it is the global dispatcher
 * ({@link installOidcDispatcher}).
 *
 * Redirects: compose it **before** undici's redirect interceptor (the last one composed runs
 * first), so that every hop comes through it and is decided on its own URL; fetch's own
 * redirects come through it anyway. A hop to a URL not allowed carries neither `Authorization`
 * nor `DPoP`, and a request that started on a foreign URL, or passed through one, gains nothing
 * on a later hop. The manager's own requests (its server's discovery and endpoints) pass
 * untouched. A second 401 reaches the caller; so does the first one of a request whose body is a
 * stream (after the recovery: the next request carries the new token). Auth failures are the
 * request's error: core's `AuthError`.
 *
 * @example
 * const agent = new Agent().compose(oidcInterceptor({ host }), interceptors.redirect({ maxRedirections: 3 }));
 * const { body } = await request('https://myapp.example.com/api/data', { dispatcher: agent });
 */
export function oidcInterceptor(options: OidcInterceptorOptions = {}): OidcInterceptor {
  const kit = createAdapterKit(options);
  const hops = new Hops((url) => kit.allows(url));
  const { manager } = kit;
  // The headers of settled header promises the manager handed out: a bearer token still good
  // comes back as the same promise, whose headers are then attached without waiting a tick.
  const settled = new WeakMap<Promise<AuthHeaders>, AuthHeaders>();
  const own = (url: string) => typeof manager.ownsUrl === 'function' && manager.ownsUrl(url);

  return (dispatch) =>
    function oidcDispatch(opts: Options, handler: Handler): boolean {
      // Composed by an older undici (6, or the one inside Node 20 and 22), whose compose hands
      // interceptors the old handler API: refused at once, never a request that hangs.
      if (typeof handler.onRequestStart !== 'function') {
        handler.onError?.(oldDispatcher());
        return true;
      }
      const url = urlOf(opts);
      // The manager's own requests pass as they are; so does (watched) one with the caller's
      // own credential.
      if (own(url)) return dispatch(opts, handler);
      const eligible = !hasAuthorization(opts.headers as DispatchHeaders);
      if (!hops.mayCarry(handler, url, eligible)) {
        return dispatch(opts, new Watched(kit, hops, url, handler));
      }
      const redirections = (opts as { maxRedirections?: number }).maxRedirections;
      if (redirections) {
        handler.onResponseError?.(undefined as unknown as Controller, redirectsBelow());
        return true;
      }
      return new Attempt(kit, dispatch, opts, url, handler, settled).send();
    };
}
