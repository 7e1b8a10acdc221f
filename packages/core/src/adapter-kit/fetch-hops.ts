import type { AuthHeaders } from '../manager/current-token.js';
import { discard, type Followed, followRedirects, isRedirect } from '../redirects.js';
import type { Recovery } from './recovery.js';
import { secretHeader } from './redaction.js';

export type Input = Parameters<typeof fetch>[0];

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

/** Can a body not be sent a second time (a stream, an async iterable)? */
export function oneShot(body: unknown): boolean {
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

/** A Request's body can be read once: a copy for a 307/308 or a re-send. */
function copyOf(input: Input): Request | undefined {
  return input instanceof Request && input.body !== null ? input.clone() : undefined;
}

/** Fetch-shaped clients' sending: redirects followed hop by hop, then the one recovery. */
export interface FetchHops {
  /**
   * For fetch-shaped clients: sends `input` with `base`, following redirects hop by hop
   * (`redirect: 'manual'`) so that every hop to an allowed URL carries our headers (a new DPoP
   * proof for each) and no hop elsewhere carries `Authorization` or `DPoP`, whatever `base`
   * would have done. Once a hop was not allowed (the first included), no later hop carries
   * ours: a foreign server chose where those go. `attached`: the headers the first hop already carries (a hook attached
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
   * A request to an origin not allowed: sent by `base` as it is (no token, base's own redirects),
   * its 401 reported once per origin (see `Recovery.unserved`).
   */
  pass(base: typeof fetch, input: Input, init?: RequestInit): Promise<Response>;
}

/**
 * Sending for fetch-shaped clients (see `AdapterKit.follow` and `AdapterKit.send`): each hop is
 * decided on its own URL by `allows`, with headers from `recovery`.
 */
export function fetchHops(
  allows: (url: string | URL | undefined) => boolean,
  recovery: Recovery,
): FetchHops {
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
    const sent =
      attached ?? (allows(url) ? await recovery.headers(method, url, signal) : undefined);
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
    const body = () =>
      spare ? spare.clone().body : given === undefined ? undefined : oneShot(given) ? null : given;
    // A hop carries ours only while every hop so far was allowed: a request that started on a
    // foreign URL, or passed through one, goes where a foreign server sent it, and gains nothing.
    let trusted = sent !== undefined || allows(url);
    const headersOf = (hopMethod: string, hopUrl: string) => {
      trusted &&= allows(hopUrl);
      return trusted ? recovery.headers(hopMethod, hopUrl, signal) : Promise.resolve(undefined);
    };
    return followRedirects(base, input, init, { response, url, method, sent }, headersOf, body);
  }

  return {
    async pass(base, input, init) {
      const response = await base(input, init);
      recovery.unserved(response.status, response.url || urlOfInput(input));
      return response;
    },
    follow: (base, input, init, attached) => hops(base, input, init, attached, copyOf(input)),
    async send(base, input, init, attached) {
      const spare = copyOf(input);
      const { response, url, sent } = await hops(base, input, init, attached, spare);
      recovery.unserved(response.status, url);
      if (!sent || !recovery.shouldRecover(response.status, url, response.headers)) {
        return response;
      }
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      await recovery.recover(sent.authorization, signal, response.headers);
      if (oneShot(init?.body)) return response;
      await discard(response);
      const again = spare ?? input;
      return (await hops(base, again, init, undefined, copyOf(again))).response;
    },
  };
}
