import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';

/** Options of {@link oidcFetch}: every adapter option, plus the `fetch` to wrap. */
export interface OidcFetchOptions extends AdapterOptions {
  /**
   * The fetch to wrap; it also serves the manager's calls to the auth server unless the
   * manager is shared.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
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
  const kit = createAdapterKit({ ...options, fetch: options.fetch ?? globalThis.fetch });

  return async function fetchWithOidc(input, init) {
    const url = input instanceof Request ? input.url : String(input);
    if (!kit.allows(url)) return base(input, init);
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const replayable = kit.isReplayable(init?.body);
    // Non-standard init fields (undici's dispatcher) do not survive new Request(): pass them on.
    const { dispatcher } = (init ?? {}) as { dispatcher?: unknown };
    const extra = (dispatcher === undefined ? undefined : { dispatcher }) as
      | RequestInit
      | undefined;
    const template = new Request(input, init);
    const send = (header: string) => {
      const request = replayable ? template.clone() : template;
      request.headers.set('authorization', header);
      return base(request, extra);
    };

    const header = await kit.authorization(signal);
    const response = await send(header);
    if (!kit.shouldRecover(response.status)) return response;
    const next = await kit.recover(header, signal);
    if (!replayable) return response;
    await response.body?.cancel();
    return send(next);
  };
}
