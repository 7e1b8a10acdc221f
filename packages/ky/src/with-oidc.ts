import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import type { Options } from 'ky';

/**
 * Options of {@link withOidc}: every adapter option (see `@oidc-auth/core`). `fetch` serves the
 * manager's calls to the auth server (unless the manager is shared), and API requests when no
 * parent ky instance has its own `fetch`. @default globalThis.fetch
 */
export type WithOidcOptions = AdapterOptions;

/**
 * ky options, usable both ways ky takes them: `ky.extend(withOidc())` calls it with the parent
 * instance's options (so a `fetch` set there is kept and wrapped), and spreading it into
 * `ky.create({ ...withOidc() })` gives plain options.
 */
export type OidcKyOptions = Options & ((parent: Options) => Options);

/**
 * ky options that attach `Authorization: Bearer …` to requests for the allowed origins (a
 * `beforeRequest` hook, so a first login is not cut short by ky's `timeout`), refresh before
 * expiry, and on a 401 recover (refresh, or a new login) and re-send once — inside ky's `fetch`,
 * because ky clones the response for every `afterResponse` hook, which would cost every
 * request tens of microseconds. A second 401 throws ky's `HTTPError`; auth failures throw
 * core's `AuthError`.
 *
 * @example
 * const api = ky.extend(withOidc({ host: 'https://myapp.example.com' }));
 */
export function withOidc(options: WithOidcOptions = {}): OidcKyOptions {
  const fallback = options.fetch ?? globalThis.fetch;
  const kit = createAdapterKit({ ...options, fetch: fallback } as AdapterOptions);

  // The header each request left beforeRequest with (ky hands that very Request to fetch).
  const attached = new WeakMap<Request, string>();

  async function resend(
    base: typeof fetch,
    spare: Request,
    init: RequestInit | undefined,
    header: string,
    response: Response,
  ) {
    await kit.recover(header, spare.signal, response.headers);
    await response.body?.cancel();
    const again = new Request(spare, { headers: new Headers(spare.headers) });
    const auth = await kit.headers(again.method, again.url, spare.signal);
    again.headers.set('authorization', auth.authorization);
    if (auth.dpop) again.headers.set('dpop', auth.dpop);
    return base(again, init);
  }

  const recovering = (base: typeof fetch) => (request: Request, init?: RequestInit) => {
    // A Request another hook replaced is not in the map: fall back to reading its header.
    const header =
      attached.get(request) ??
      (kit.allows(request.url) ? request.headers.get('authorization') : null);
    if (!header) return base(request, init);
    // A body is read once: keep a copy for a re-send.
    const spare = request.body === null ? request : request.clone();
    return base(request, init).then((response) =>
      kit.shouldRecover(response.status, response.url || request.url, response.headers)
        ? resend(base, spare, init, header, response)
        : response,
    );
  };

  type HookOptions = { signal?: AbortSignal | null | undefined };
  // ky 1 calls `(request, options)`, ky 2 `({ request, options, retryCount })`: one hook for both.
  const attach = async (
    first: Request | { request: Request; options: HookOptions },
    second?: HookOptions,
  ) => {
    const { request, options: opts } =
      first instanceof Request ? { request: first, options: second } : first;
    if (!kit.allows(request.url)) return;
    const auth = await kit.headers(request.method, request.url, opts?.signal);
    request.headers.set('authorization', auth.authorization);
    if (auth.dpop) request.headers.set('dpop', auth.dpop);
    attached.set(request, auth.authorization);
  };
  const hooks = { beforeRequest: [attach] } as NonNullable<Options['hooks']>;
  const extend = (parent: Options): Options => ({
    hooks,
    fetch: recovering(parent.fetch ?? fallback) as typeof fetch,
  });
  return Object.assign(extend, { hooks, fetch: recovering(fallback) as typeof fetch });
}
