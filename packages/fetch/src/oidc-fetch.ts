import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';

/**
 * Options of {@link oidcFetch}: every adapter option (see `@oidc-auth/core`). `fetch` is the
 * fetch to wrap; it also serves the manager's calls to the auth server unless the manager is
 * shared. @default globalThis.fetch
 */
export type OidcFetchOptions = AdapterOptions;

/**
 * A `fetch` that attaches `Authorization: Bearer …` to requests for the allowed origins,
 * refreshes before expiry, and on a 401 recovers (refresh, or a new login) and re-sends once.
 * Redirects of such requests are followed here, hop by hop, whatever fetch is wrapped: a hop to
 * an allowed URL carries the token (and a new DPoP proof), a hop anywhere else carries neither
 * `Authorization` nor `DPoP`. A second 401 is returned as the Response; a one-shot stream body
 * is not re-sent (the 401 is returned, and the next request carries the recovered token). Auth
 * failures reject with core's `AuthError`.
 *
 * @example
 * const fetch = oidcFetch({ host: 'https://myapp.example.com' });
 * const res = await fetch('https://myapp.example.com/api/data');
 */
export function oidcFetch(options: OidcFetchOptions = {}): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  const kit = createAdapterKit({ ...options, fetch: base } as AdapterOptions);

  return function fetchWithOidc(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return kit.allows(url) ? kit.send(base, input, init) : kit.pass(base, input, init);
  };
}
