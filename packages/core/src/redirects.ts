/**
 * Redirects followed hop by hop for fetch-shaped clients, so that each hop's auth headers are
 * decided from that hop's URL alone: undici strips only `Authorization` on a cross-origin
 * redirect (never `DPoP`), node-fetch keeps `Authorization` on a subdomain, and no fetch
 * knows which origins the token is for.
 */
import type { AuthHeaders } from './manager/token-manager.js';
import { parseUrl } from './urls.js';

/** The headers for one hop: ours when its URL is allowed, else none. */
export type HopHeaders = (method: string, url: string) => Promise<AuthHeaders | undefined>;

/** What a request ended as: the last answer and the URL and headers of the hop that got it. */
export interface Followed {
  response: Response;
  /** The last hop's URL (where `response` came from). */
  url: string;
  /** Our headers on the last hop; undefined when it was not an allowed URL. */
  sent: AuthHeaders | undefined;
}

/** Fetch's own limit (the Fetch standard's "redirect count"). */
const maxRedirects = 20;
/** Headers that describe a body, dropped with it when a redirect turns a POST into a GET. */
const bodyHeaders: readonly string[] = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];

type Input = Parameters<typeof fetch>[0];

/**
 * Lets go of an answer's body we will not read: a fetch `ReadableStream` is cancelled, a Node
 * stream (node-fetch's) destroyed.
 */
export async function discard(response: Response): Promise<void> {
  const body = response.body as
    | { cancel?: () => Promise<void>; destroy?: () => void }
    | null
    | undefined;
  if (typeof body?.cancel === 'function') await body.cancel();
  else body?.destroy?.();
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The caller's headers, without ours, as a fresh `Headers` to which a hop may add its own. */
function baseHeaders(input: Input, init: RequestInit | undefined): Headers {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : {}));
  headers.delete('authorization');
  headers.delete('dpop');
  return headers;
}

/**
 * Follows the redirect `first.response` asks for, and the ones after it, as the Fetch standard
 * does (303 → GET, 301/302 POST → GET, 307/308 keep method and body, at most 20 hops), asking
 * `hop` for each hop's headers. The first hop was sent with `redirect: 'manual'` by the caller
 * (it carried `first.sent`). `body` is the body to send again on a 307/308 (undefined when there
 * is none; null when it cannot be sent twice: such a redirect then ends in a `TypeError`, as in
 * fetch).
 */
export async function followRedirects(
  base: typeof fetch,
  input: Input,
  init: RequestInit | undefined,
  first: { response: Response; url: string; method: string; sent: AuthHeaders | undefined },
  hop: HopHeaders,
  body: () => BodyInit | null | undefined,
): Promise<Followed> {
  let { response, url, sent } = first;
  let method = first.method.toUpperCase();
  let keepBody = true;
  for (let hops = 0; isRedirect(response.status); hops++) {
    const location = response.headers.get('location');
    if (location === null) break;
    if (hops === maxRedirects) {
      await discard(response);
      throw new TypeError(`fetch failed: more than ${maxRedirects} redirects from ${first.url}`);
    }
    const next = parseUrl(location, url);
    if (next?.protocol !== 'http:' && next?.protocol !== 'https:') {
      await discard(response);
      throw new TypeError(
        `fetch failed: a redirect to ${next ? `a ${next.protocol} URL` : 'an invalid URL'}`,
      );
    }
    await discard(response);
    if (
      (response.status === 303 && method !== 'GET' && method !== 'HEAD') ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      keepBody = false;
    }
    const headers = baseHeaders(input, init);
    let resend: BodyInit | null | undefined;
    if (keepBody) {
      resend = body();
      if (resend === null) {
        throw new TypeError(
          `fetch failed: a ${response.status} redirect asks to send the body again, and a stream body cannot be sent twice`,
        );
      }
    } else {
      for (const name of bodyHeaders) headers.delete(name);
    }
    url = next.href;
    sent = await hop(method, url);
    if (sent) {
      headers.set('authorization', sent.authorization);
      if (sent.dpop) headers.set('dpop', sent.dpop);
    }
    const { body: _body, headers: _headers, method: _method, ...rest } = init ?? {};
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    response = await base(url, {
      ...rest,
      method,
      headers,
      ...(resend !== undefined ? { body: resend, duplex: 'half' } : {}),
      ...(signal ? { signal } : {}),
      redirect: 'manual',
    } as RequestInit);
  }
  return { response, url, sent };
}
