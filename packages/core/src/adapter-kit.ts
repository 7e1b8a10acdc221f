import { type AnswerHeaders, headerOf, isProofChallenge } from './dpop.js';
import { AuthError, ErrorCode } from './errors.js';
import {
  type AuthHeaders,
  TokenManager,
  type TokenManagerOptions,
} from './manager/token-manager.js';
import { checkOptionNames } from './options.js';
import { discard, type Followed, followRedirects, isRedirect } from './redirects.js';

type Input = Parameters<typeof fetch>[0];

/** Where a token may go: an origin (`"https://api.example.org"`), a RegExp tested against the origin, or a predicate on the URL. */
export type OriginRule = string | RegExp | ((url: URL) => boolean);

/** A manager shared among adapters and clients. */
export interface SharedManager {
  /**
   * A manager to share among adapters and clients; else one is made from the other options.
   * @example const manager = new TokenManager({ host }); oidcFetch({ manager });
   */
  manager: TokenManager;
  /** The fetch an adapter sends API requests with (the manager keeps its own). */
  fetch?: typeof fetch;
  host?: never;
  issuer?: never;
  clientId?: never;
  dialect?: never;
  store?: never;
}

/**
 * Options every adapter takes: `{ manager }`, or the manager's own options (`{ host, … }`,
 * `{ issuer, clientId, … }`, or none: the environment), and `origins`.
 */
export type AdapterOptions = (SharedManager | (TokenManagerOptions & { manager?: never })) &
  OriginsOption;

/** Where the adapters may send the token. */
export interface OriginsOption {
  /**
   * The origins the bearer token may be sent to. Requests anywhere else go out untouched.
   * @default the auth host's own origin
   * @example origins: ['https://api.example.org', /^https:\/\/[a-z]+\.example\.org$/]
   */
  origins?: OriginRule | readonly OriginRule[];
}

/** What an adapter needs from core: three questions, each one call. */
export interface AdapterKit {
  readonly manager: TokenManager;
  /** Should a request to this URL carry the token? Only http(s) URLs on the allowed origins. */
  allows(url: string | URL | undefined): boolean;
  /** The `Authorization` value to attach (bearer tokens; with DPoP use {@link headers}). */
  authorization(signal?: AbortSignal | null): Promise<string>;
  /**
   * The headers to attach to one request: `authorization`, and with DPoP-bound tokens `dpop`,
   * a proof made for this `method` and `url`. Bearer tokens: the same object every time.
   */
  headers(method: string, url: string | URL, signal?: AbortSignal | null): Promise<AuthHeaders>;
  /**
   * Does this answer call for a recovery and one re-send? Only a 401 (never a 403), and only
   * from an allowed origin: `finalUrl` is where the request ended after redirects. Pass the
   * answer's `headers` (fetch `Headers`, axios or got headers): with DPoP its `DPoP-Nonce` is
   * kept for the next proof to that origin.
   */
  shouldRecover(
    status: number,
    finalUrl: string | URL | undefined,
    headers?: AnswerHeaders,
  ): boolean;
  /**
   * Is there anything to do with an answer of this status? A 401 may call for a recovery, and
   * with DPoP every answer may carry a nonce; anything else is let through at once, before an
   * adapter works out where the request ended (what {@link shouldRecover} needs).
   */
  answerMatters(status: number): boolean;
  /**
   * After a 401 to a request that carried `header`: refreshes (or logs in), unless `headers`
   * show a DPoP challenge about the proof (`use_dpop_nonce`, `invalid_dpop_proof`), which needs
   * only a new proof. Then re-send with
   * {@link AdapterKit.headers}. Returns the new `Authorization` value.
   */
  recover(header: string, signal?: AbortSignal | null, headers?: AnswerHeaders): Promise<string>;
  /** Can this request body be sent a second time? One-shot streams cannot. */
  isReplayable(body: unknown): boolean;
  /**
   * For fetch-shaped clients: sends `input` with `base`, following redirects hop by hop
   * (`redirect: 'manual'`) so that every hop to an allowed URL carries our headers (a new DPoP
   * proof for each) and no hop elsewhere carries `Authorization` or `DPoP`, whatever `base`
   * would have done. `attached`: the headers the first hop already carries (a hook attached
   * them); else they are attached here when its URL is allowed. No recovery: see {@link send}.
   */
  follow(
    base: typeof fetch,
    input: Input,
    init?: RequestInit,
    attached?: AuthHeaders,
  ): Promise<Followed>;
  /**
   * {@link follow}, then the 401 recovery: a 401 from an allowed last hop is recovered and the
   * request re-sent once from the start (a body that can be sent again is); any other answer,
   * or a second 401, is returned as it is.
   */
  send(
    base: typeof fetch,
    input: Input,
    init?: RequestInit,
    attached?: AuthHeaders,
  ): Promise<Response>;
  /**
   * Blanks `Authorization` and `DPoP` in what a client keeps of a request it sent (its config
   * or options headers, a fetch `Request`, a Node `ClientRequest`), so that an error logged by
   * the caller never shows the token. Call it on errors on their way out; a retry that re-uses
   * the config gets fresh headers from the adapter.
   */
  redact(...sent: unknown[]): void;
}

/** What a redacted header shows. */
const redacted = '[REDACTED]';
const secretHeader = /^(authorization|dpop)$/i;

/**
 * `init` with the given auth headers, the caller's other headers kept; the caller's objects
 * untouched. `redirect`, when given, replaces the caller's (the kit follows redirects itself).
 */
function withAuthorization(
  input: Input,
  init: RequestInit | undefined,
  auth: AuthHeaders,
  redirect?: RequestRedirect,
): RequestInit {
  const given = init?.headers ?? (input instanceof Request ? input.headers : undefined);
  let headers: HeadersInit;
  if (given === undefined) {
    headers = auth.dpop
      ? { authorization: auth.authorization, dpop: auth.dpop }
      : { authorization: auth.authorization };
  } else if (given instanceof Headers || Array.isArray(given)) {
    const copy = new Headers(given);
    copy.set('authorization', auth.authorization);
    if (auth.dpop) copy.set('dpop', auth.dpop);
    headers = copy;
  } else {
    const copy: Record<string, string> = {};
    for (const name in given) {
      if (!secretHeader.test(name)) copy[name] = (given as Record<string, string>)[name] as string;
    }
    copy.authorization = auth.authorization;
    if (auth.dpop) copy.dpop = auth.dpop;
    headers = copy;
  }
  if (redirect) return init ? { ...init, headers, redirect } : { headers, redirect };
  return init ? { ...init, headers } : { headers };
}

function urlOfInput(input: Input): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** Blanks our two headers wherever a client keeps a copy of what it sent. */
function redactOne(sent: unknown): void {
  if (typeof sent !== 'object' || sent === null) return;
  if (typeof Request !== 'undefined' && sent instanceof Request) return redactOne(sent.headers);
  const record = sent as Record<string | symbol, unknown>;
  if (typeof (sent as Headers).set === 'function' && typeof (sent as Headers).has === 'function') {
    // fetch Headers, axios' AxiosHeaders.
    for (const name of ['authorization', 'dpop']) {
      try {
        if ((sent as Headers).has(name)) (sent as Headers).set(name, redacted);
      } catch {
        // Immutable headers (a Response's): nothing of ours is kept there.
      }
    }
  }
  if (typeof (sent as { getHeader?: unknown }).getHeader === 'function') {
    // A Node ClientRequest: the header block it wrote, and its header map.
    if (typeof record._header === 'string') {
      record._header = (record._header as string).replace(
        /^(authorization|dpop):[^\r\n]*/gim,
        `$1: ${redacted}`,
      );
    }
    for (const symbol of Object.getOwnPropertySymbols(sent)) {
      const map = record[symbol];
      if (symbol.description !== 'kOutHeaders' || typeof map !== 'object' || map === null) continue;
      for (const name of ['authorization', 'dpop']) {
        const entry = (map as Record<string, [string, unknown]>)[name];
        if (entry) entry[1] = redacted;
      }
    }
    return;
  }
  for (const name of Object.keys(record)) {
    if (secretHeader.test(name) && typeof record[name] === 'string') record[name] = redacted;
  }
}

function ruleMatcher(rule: OriginRule): (url: URL) => boolean {
  if (typeof rule === 'function') return rule;
  if (rule instanceof RegExp) {
    // A copy without `g` and `y`, whose `test` would keep state (lastIndex) between calls.
    const pattern = new RegExp(rule.source, rule.flags.replace(/[gy]/g, ''));
    return (url) => pattern.test(url.origin);
  }
  if (typeof rule !== 'string') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'origins must be strings, RegExps or functions of the URL.',
    );
  }
  let origin: string;
  try {
    origin = new URL(rule).origin;
  } catch {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `origins: "${rule}" is not an origin such as "https://api.example.org".`,
    );
  }
  return (url) => url.origin === origin;
}

function originOf(rule: string): string {
  const url = new URL(rule);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : '\0';
}

function onOrigin(url: string, origin: string): boolean {
  if (!url.startsWith(origin)) return false;
  const next = url.charCodeAt(origin.length);
  // NaN: the URL is the origin itself; 47 "/", 63 "?", 35 "#".
  return Number.isNaN(next) || next === 47 || next === 63 || next === 35;
}

function toUrl(url: string | URL | undefined): URL | undefined {
  if (url instanceof URL) return url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function oneShot(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string') return false;
  if (typeof body !== 'object') return false;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) return true;
  // Node streams and async iterables are consumed by sending them.
  return (
    typeof (body as { pipe?: unknown }).pipe === 'function' ||
    (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' &&
      !(body instanceof Blob) &&
      !(body instanceof FormData))
  );
}

function bearerToken(header: string): string {
  const space = header.indexOf(' ');
  return space === -1 ? header : header.slice(space + 1);
}

/**
 * Builds what every adapter uses: the manager (shared or made here), the origin check, and the
 * attach / recover calls. Adapters stay thin: all policy lives here and in the manager.
 */
export function createAdapterKit(options: AdapterOptions = {}): AdapterKit {
  const { manager: shared, origins, ...managerOptions } = options;
  // Duck-typed: a manager from another copy of this package works too.
  if (
    shared !== undefined &&
    (typeof shared !== 'object' ||
      shared === null ||
      typeof shared.authorization !== 'function' ||
      typeof shared.recover !== 'function')
  ) {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, 'manager must be a TokenManager.');
  }
  if (shared) checkOptionNames(managerOptions, ['manager', 'origins'], 'the adapter options');
  const manager = shared ?? new TokenManager(managerOptions as TokenManagerOptions);
  const dpop = manager.dpop === true;
  const rules = origins === undefined ? [manager.origin] : [origins].flat();
  const matchers = rules.map(ruleMatcher);
  // The hot path: a URL string that starts with an allowed origin followed by "/", "?", "#" or
  // nothing is on that origin; anything else (other case, explicit default port…) is parsed.
  const prefixes = rules.filter((rule): rule is string => typeof rule === 'string').map(originOf);
  const allows = (raw: string | URL | undefined): boolean => {
    if (typeof raw === 'string' && prefixes.some((prefix) => onOrigin(raw, prefix))) return true;
    const url = toUrl(raw);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return false;
    return matchers.some((match) => match(url));
  };
  const headersFor = (method: string, url: string | URL, signal?: AbortSignal | null) =>
    typeof manager.authHeaders === 'function'
      ? signal
        ? manager.authHeaders(method, url, { signal })
        : manager.authHeaders(method, url)
      : // A manager from an older copy of this package: bearer tokens only.
        manager
          .authorization(signal ? { signal } : {})
          .then((authorization): AuthHeaders => ({ authorization }));

  const shouldRecover = (
    status: number,
    finalUrl: string | URL | undefined,
    headers?: AnswerHeaders,
  ) => {
    const allowed = allows(finalUrl);
    if (dpop && allowed && headers !== undefined) {
      manager.dpopAnswer(finalUrl as string | URL, headers);
    }
    return status === 401 && allowed;
  };

  async function recover(header: string, signal?: AbortSignal | null, headers?: AnswerHeaders) {
    // A challenge about the DPoP proof (a nonce wanted, or the proof refused): the token is
    // fine; the re-send carries a new proof (with the nonce, if one was given).
    if (header.startsWith('DPoP ') && isProofChallenge(headerOf(headers, 'www-authenticate'))) {
      return header;
    }
    const token = await manager.recover(bearerToken(header), signal ? { signal } : {});
    return `${token.token_type} ${token.access_token}`;
  }

  /**
   * The first hop, decided here (or `attached` by a hook) and sent; then, when the caller
   * follows redirects, each further hop decided on its own URL. `spare`: a copy of a Request's
   * body for a 307/308 (the caller may have one already).
   */
  async function hops(
    base: typeof fetch,
    input: Input,
    init: RequestInit | undefined,
    attached: AuthHeaders | undefined,
    spare: Request | undefined,
  ): Promise<Followed> {
    const url = urlOfInput(input);
    const request = input instanceof Request ? input : undefined;
    const method = init?.method ?? request?.method ?? 'GET';
    const signal = init?.signal ?? request?.signal;
    const sent = attached ?? (allows(url) ? await headersFor(method, url, signal) : undefined);
    const follows = (init?.redirect ?? request?.redirect ?? 'follow') === 'follow';
    const redirect: RequestRedirect | undefined = follows ? 'manual' : undefined;
    const first: RequestInit | undefined =
      sent && !attached
        ? withAuthorization(input, init, sent, redirect)
        : redirect
          ? { ...init, redirect }
          : init;
    const response = await base(input, first);
    if (!follows || !isRedirect(response.status)) return { response, url, sent };
    const given = init?.body ?? undefined;
    return followRedirects(
      base,
      input,
      init,
      { response, url, method, sent },
      (hopMethod, hopUrl) =>
        allows(hopUrl) ? headersFor(hopMethod, hopUrl, signal) : Promise.resolve(undefined),
      () =>
        spare
          ? spare.clone().body
          : given === undefined
            ? undefined
            : oneShot(given)
              ? null
              : given,
    );
  }

  const copyOf = (input: Input) =>
    input instanceof Request && input.body !== null ? input.clone() : undefined;

  return {
    manager,
    allows,
    follow: (base, input, init, attached) => hops(base, input, init, attached, copyOf(input)),
    async send(base, input, init, attached) {
      // A Request's body can be read once: a copy for a 307/308 or a re-send.
      const spare = copyOf(input);
      const { response, url, sent } = await hops(base, input, init, attached, spare);
      if (!sent || !shouldRecover(response.status, url, response.headers)) return response;
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      await recover(sent.authorization, signal, response.headers);
      if (oneShot(init?.body)) return response;
      await discard(response);
      const again = spare ?? input;
      return (await hops(base, again, init, undefined, copyOf(again))).response;
    },
    redact(...sent) {
      for (const one of sent) redactOne(one);
    },
    authorization: (signal) =>
      signal ? manager.authorization({ signal }) : manager.authorization(),
    headers: headersFor,
    shouldRecover,
    answerMatters: (status) => status === 401 || dpop,
    recover,
    isReplayable: (body) => !oneShot(body),
  };
}
