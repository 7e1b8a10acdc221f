import { type AdapterOptions, type AuthHeaders, createAdapterKit } from '@oidc-auth/core';

/**
 * Options of {@link oidcFetch}: every adapter option (see `@oidc-auth/core`). `fetch` is the
 * fetch to wrap; it also serves the manager's calls to the auth server unless the manager is
 * shared. @default globalThis.fetch
 */
export type OidcFetchOptions = AdapterOptions;

type Input = Parameters<typeof fetch>[0];

/** `init` with the given auth headers, the caller's other headers kept; the caller's objects untouched. */
function withAuthorization(
  input: Input,
  init: RequestInit | undefined,
  auth: AuthHeaders,
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
      const lower = name.toLowerCase();
      if (lower !== 'authorization' && lower !== 'dpop')
        copy[name] = (given as Record<string, string>)[name] as string;
    }
    copy.authorization = auth.authorization;
    if (auth.dpop) copy.dpop = auth.dpop;
    headers = copy;
  }
  return init ? { ...init, headers } : { headers };
}

/**
 * A `fetch` that attaches `Authorization: Bearer …` to requests for the allowed origins,
 * refreshes before expiry, and on a 401 recovers (refresh, or a new login) and re-sends once.
 * A second 401 is returned as the Response; a one-shot stream body is not re-sent (the 401 is
 * returned, and the next request carries the recovered token). Auth failures reject with
 * core's `AuthError`.
 *
 * @example
 * const fetch = oidcFetch({ host: 'https://myapp.example.com' });
 * const res = await fetch('https://myapp.example.com/api/data');
 */
export function oidcFetch(options: OidcFetchOptions = {}): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  const kit = createAdapterKit({ ...options, fetch: base } as AdapterOptions);

  async function send(input: Input, init: RequestInit | undefined, url: string): Promise<Response> {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    // A Request's body can be read once: keep a copy for a possible re-send.
    const spare = input instanceof Request && input.body !== null ? input.clone() : input;
    const auth = await kit.headers(method, url, signal);
    const response = await base(input, withAuthorization(input, init, auth));
    if (!kit.shouldRecover(response.status, response.url || url, response.headers)) {
      return response;
    }
    await kit.recover(auth.authorization, signal, response.headers);
    if (!kit.isReplayable(init?.body)) return response;
    await response.body?.cancel();
    return base(spare, withAuthorization(spare, init, await kit.headers(method, url, signal)));
  }

  return function fetchWithOidc(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return kit.allows(url) ? send(input, init, url) : base(input, init);
  };
}
