import { diagnosticsChannels, type TraceContext, traced } from './diagnostics.js';
import { acceptableNonce } from './dpop.js';
import { fromUtf8 } from './encoding.js';
import { AuthError, ErrorCode, redact } from './errors.js';
import { fetchFailure, isTransient, markTransient } from './network-errors.js';
import { oauthErrorLabel, parseOAuthErrorJson } from './oauth-error.js';
import { followSignals, type Sleep } from './sleep.js';
import { printable, requireSecure } from './urls.js';

/** How the calls to the auth server are retried on transient failures. */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 3
   */
  retries?: number;
  /**
   * Milliseconds before the first retry; doubles each time, with jitter.
   * @default 500
   */
  minTimeout?: number;
  /**
   * Longest wait between two retries in milliseconds.
   * @default 5000
   */
  maxTimeout?: number;
  /**
   * The longest `Retry-After` (seconds) worth waiting for; a longer one ends the retries at once.
   * @default 30
   */
  maxRetryAfter?: number;
}

/** A request a dialect wants sent: always a form POST or a GET. */
export interface PreparedRequest {
  url: string;
  method: 'GET' | 'POST';
  form?: Record<string, string>;
  /** Headers besides `accept` (a confidential client's `Authorization: Basic …`). */
  headers?: Record<string, string>;
  /** Values that must never show up in an error (tokens, codes, verifiers, client secrets). */
  secrets: string[];
  /**
   * Form fields made anew for each attempt, and secret like the rest: a client assertion
   * (RFC 7523), whose `jti` may be used only once.
   */
  sign?: ((url: string) => Promise<Record<string, string>>) | undefined;
  /** The grant a token request asks for, for diagnostics (py-oidc-auth's forms do not say). */
  grant?: string;
  /** Prove possession of this key on each attempt (a DPoP proof header, RFC 9449 §5). */
  dpop?:
    | { proof(method: string, url: string, options: { nonce?: string }): Promise<string> }
    | undefined;
  /** What this call is, for messages: "refresh", "device authorization", … */
  what: string;
  /**
   * A redirect (3xx) is the answer, its `Location` read by the caller, never followed; other
   * requests refuse redirects. For py-oidc-auth's login route, whose redirect carries the state.
   */
  redirectIsAnswer?: boolean;
  /**
   * Said after the message when the server refuses the client (`invalid_client`,
   * `unauthorized_client`): what to check (the client id; a Basic secret the provider does not
   * decode).
   */
  refusedClientNote?: string;
}

/** An answer as the protocol parsers see it. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** What must be blanked out of anything shown from this answer. */
  secrets?: readonly string[];
  /** The URL the request went to. */
  url?: string;
}

export interface HttpContext {
  fetch: typeof fetch;
  /** Per-attempt timeout in milliseconds. */
  timeout: number;
  retry: Required<RetryOptions>;
  /** Largest answer body accepted, in bytes. */
  maxBodyBytes: number;
  /** Waits before honouring `Retry-After`. */
  sleep: Sleep;
  /** Plain http to a non-loopback host was explicitly allowed. */
  allowInsecureHttp: boolean;
  /**
   * The last `DPoP-Nonce` each authorization server's origin gave in a token-endpoint answer
   * (RFC 9449 §8), for its next token request. Resource servers' nonces are kept apart (§9).
   */
  nonces: Map<string, string>;
}

export const defaultRetry: Required<RetryOptions> = {
  retries: 3,
  minTimeout: 500,
  maxTimeout: 5000,
  maxRetryAfter: 30,
};

function retryAfterSeconds(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

async function readLimited(res: Response, limit: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel();
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      `The ${what} answer is larger than ${limit} bytes; the server is misbehaving — report it to its operator.`,
      { status: res.status },
    );
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new AuthError(
        ErrorCode.BAD_RESPONSE,
        `The ${what} answer is larger than ${limit} bytes; the server is misbehaving — report it to its operator.`,
        { status: res.status },
      );
    }
    chunks.push(value);
  }
  return fromUtf8(chunks);
}

/** The fetch options of one attempt (a new DPoP proof and client assertion each time). */
async function requestInit(
  ctx: HttpContext,
  request: PreparedRequest,
  signal: AbortSignal,
): Promise<{ init: RequestInit; secrets: string[] }> {
  const nonce = request.dpop ? ctx.nonces.get(new URL(request.url).origin) : undefined;
  const init: RequestInit = {
    method: request.method,
    headers: {
      ...request.headers,
      accept: 'application/json',
      ...(request.dpop
        ? { dpop: await request.dpop.proof(request.method, request.url, nonce ? { nonce } : {}) }
        : {}),
    },
    signal,
    // Never followed (a token or secret must not go elsewhere): 'manual' and refused below.
    // Not 'error', which workerd does not implement.
    redirect: 'manual',
  };
  const signed = await request.sign?.(request.url);
  const secrets = signed ? [...request.secrets, ...Object.values(signed)] : request.secrets;
  if (request.form || signed) init.body = new URLSearchParams({ ...request.form, ...signed });
  return { init, secrets };
}

async function attempt(
  ctx: HttpContext,
  request: PreparedRequest,
  signal: AbortSignal | undefined,
): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(ctx.timeout);
  // The fetch's signal is made here, for this attempt: never the caller's own (see followSignals).
  const combined = followSignals(signal, timeout);
  try {
    return await fetchOnce(ctx, request, { caller: signal, timeout, combined: combined.signal });
  } finally {
    combined.release();
  }
}

async function fetchOnce(
  ctx: HttpContext,
  request: PreparedRequest,
  signals: { caller: AbortSignal | undefined; timeout: AbortSignal; combined: AbortSignal },
): Promise<HttpAnswer> {
  const { caller: signal, timeout } = signals;
  const origin = new URL(request.url).origin;
  const { init, secrets } = await requestInit(ctx, request, signals.combined);
  let res: Response;
  let text: string;
  try {
    // Called unbound: a browser's fetch refuses to run as a method of another object
    // ("Illegal invocation").
    const { fetch } = ctx;
    res = await fetch(request.url, init);
    const redirected = res.status >= 300 && res.status < 400;
    if (redirected && request.redirectIsAnswer) {
      await res.body?.cancel();
      return { status: res.status, headers: res.headers, text: '', json: undefined, secrets };
    }
    if (res.type === 'opaqueredirect' || redirected) {
      await res.body?.cancel();
      throw new AuthError(
        ErrorCode.BAD_RESPONSE,
        `The ${request.what} request to ${origin} was answered with a redirect (HTTP ${res.status || 'redirect'}), which is never followed: a secret or token must not be sent elsewhere. Configure the server's final URL.`,
        { ...(res.status ? { status: res.status } : {}) },
      );
    }
    text = await readLimited(res, ctx.maxBodyBytes, request.what);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw fetchFailure(error, request, {
      timeoutMs: ctx.timeout,
      timedOut: timeout.aborted,
      secrets,
    });
  }
  const nextNonce = acceptableNonce(res.headers.get('dpop-nonce'));
  if (request.dpop && nextNonce) ctx.nonces.set(origin, nextNonce);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, secrets, url: request.url };
}

/**
 * Turns a transient HTTP answer (5xx, 429) into a retryable error; leaves others alone.
 */
export function transientAnswerError(answer: HttpAnswer, request: PreparedRequest): AuthError {
  const retryAfter = retryAfterSeconds(answer.headers);
  return markTransient(
    new AuthError(
      ErrorCode.SERVER_UNAVAILABLE,
      `The ${request.what} request to ${new URL(request.url).origin} answered ${answer.status}.`,
      { status: answer.status, detail: summarize(answer), retryAfter },
    ),
  );
}

/** The server's error detail: `detail`, the RFC 6749 object, or the start of a non-JSON body. */
export function summarize(answer: HttpAnswer): unknown {
  const secrets = answer.secrets ?? [];
  const json = answer.json as Record<string, unknown> | undefined;
  if (json && typeof json === 'object') {
    let picked: unknown;
    if ('detail' in json) picked = json.detail;
    else if ('error' in json)
      picked = { error: json.error, error_description: json.error_description };
    if (typeof picked === 'string') return shorten(redact(picked, secrets));
    if (picked !== undefined) {
      try {
        const text = JSON.stringify(picked) ?? 'null';
        if (text.length <= 2000) {
          // Each string redacted as it reads, after JSON unescaping: a secret echoed inside a
          // description is then in the spellings `redact` knows.
          return JSON.parse(redact(text, secrets), (_key, value: unknown) =>
            typeof value === 'string' ? printable(redact(value, secrets)) : value,
          );
        }
      } catch {
        // Too deeply nested to serialise: shown as text below.
      }
      return '(an error body too large or deeply nested to show)';
    }
  }
  return shorten(redact(answer.text, secrets));
}

/** One line of printable text, at most 200 characters. */
function shorten(text: string): string {
  const line = printable(text.replace(/\s+/g, ' ')).trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** `check(answer)`, with the request's note added when the server refused the client. */
function withClientNote<T>(
  check: (answer: HttpAnswer) => T,
  answer: HttpAnswer,
  request: PreparedRequest,
): T {
  try {
    return check(answer);
  } catch (error) {
    const note = request.refusedClientNote;
    const said = (error as { detail?: { error?: unknown } } | undefined)?.detail?.error;
    const client = said === 'invalid_client' || said === 'unauthorized_client';
    if (!note || !(error instanceof AuthError) || !client) throw error;
    const { status, detail } = error;
    throw new AuthError(error.code, `${error.message.replace(/\.$/, '')}. ${note}`, {
      ...(status !== undefined ? { status } : {}),
      detail,
      cause: error,
    });
  }
}

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Claims a 5xx/429 answer as final, not transient (e.g. a 502 meaning "no device endpoint"). */
  final?: (answer: HttpAnswer) => boolean;
}

/** A `use_dpop_nonce` error that came with a nonce to use (RFC 9449 §8). */
function isNonceAnswer(answer: HttpAnswer): boolean {
  if (answer.status !== 400 && answer.status !== 401) return false;
  if (!answer.headers.get('dpop-nonce')) return false;
  const body = answer.json as { error?: unknown } | undefined;
  return body?.error === 'use_dpop_nonce';
}

/** The wait before retry number `retry` (1-based): exponential, randomised ×1–2, capped. */
function backoff(retry: Required<RetryOptions>, n: number): number {
  const base = Math.min(retry.maxTimeout, retry.minTimeout * 2 ** (n - 1));
  return Math.min(retry.maxTimeout, base * (1 + Math.random()));
}

/**
 * Sends a request, retrying transient failures (network errors, timeouts, 5xx, 429) with
 * exponential backoff — or, when the server sent `Retry-After`, waiting exactly that long
 * instead (once, not on top of the backoff); a `Retry-After` longer than `maxRetryAfter` ends
 * the retries at once. `check` turns an answer into a result, or throws: errors marked
 * transient are retried, others end the call at once. A spent budget ends as
 * `OIDC_SERVER_UNAVAILABLE`.
 */
export function send<T>(
  ctx: HttpContext,
  request: PreparedRequest,
  check: (answer: HttpAnswer) => T,
  options: SendOptions = {},
): Promise<T> {
  let host: string;
  try {
    host = new URL(request.url).origin;
  } catch {
    host = '';
  }
  const grant = request.form?.grant_type ?? request.grant;
  return traced(
    diagnosticsChannels.tokenRequest,
    { host, what: request.what, ...(grant ? { grant } : {}) },
    (trace) => sendTraced(ctx, request, check, options, trace),
  );
}

async function sendTraced<T>(
  ctx: HttpContext,
  request: PreparedRequest,
  check: (answer: HttpAnswer) => T,
  options: SendOptions,
  trace: TraceContext,
): Promise<T> {
  const { signal, final } = options;
  requireSecure(request.url, `The ${request.what} endpoint`, ctx.allowInsecureHttp);
  let attempts = 0;
  let nonceRetried = false;
  for (;;) {
    attempts++;
    let last: AuthError;
    try {
      const answer = await attempt(ctx, request, signal);
      trace.status = answer.status;
      trace.attempts = attempts;
      if (answer.status >= 400) {
        const code = parseOAuthErrorJson(answer.json);
        if (code) trace.oauthError = oauthErrorLabel(redact(code, answer.secrets ?? []));
      }
      // The server wants its DPoP nonce in the proof: send again at once with it, once.
      if (request.dpop && !nonceRetried && isNonceAnswer(answer)) {
        nonceRetried = true;
        attempts--;
        continue;
      }
      if ((answer.status === 429 || answer.status >= 500) && !final?.(answer)) {
        throw transientAnswerError(answer, request);
      }
      return withClientNote(check, answer, request);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!isTransient(error)) throw error;
      last = error as AuthError;
    }
    const wait = last.retryAfter;
    const tooLong = wait !== undefined && wait > ctx.retry.maxRetryAfter;
    if (attempts > ctx.retry.retries || tooLong) {
      const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
      throw new AuthError(
        ErrorCode.SERVER_UNAVAILABLE,
        `${last.message.replace(/\.$/, '')} (${tries}). The auth server is unavailable; try again later.`,
        { status: last.status, detail: last.detail, cause: last },
      );
    }
    await ctx.sleep(wait !== undefined ? wait * 1000 : backoff(ctx.retry, attempts), signal);
  }
}
