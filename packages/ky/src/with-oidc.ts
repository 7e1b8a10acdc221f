import { type AdapterOptions, type AuthHeaders, createAdapterKit } from '@oidc-auth/core';
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

  // The headers each request left beforeRequest with (ky hands that very Request to fetch).
  const attached = new WeakMap<Request, AuthHeaders>();

  const recovering = (base: typeof fetch) => (request: Request, init?: RequestInit) => {
    const headers = attached.get(request);
    // A Request another hook replaced is not in the map: its headers are attached again.
    if (headers) return kit.send(base, request, init, headers);
    return kit.allows(request.url) ? kit.send(base, request, init) : kit.pass(base, request, init);
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
    attached.set(request, auth);
  };
  // ky 1 calls `(error)`, ky 2 `({ error, request })`; both want the error back. What the error
  // keeps of the request it sent loses our headers, so that logging it never shows the token.
  const scrub = (first: Error | { error: Error; request?: unknown }) => {
    const error = first instanceof Error ? first : first.error;
    kit.redact(
      (error as { request?: unknown }).request,
      'request' in first ? first.request : undefined,
    );
    return error;
  };
  const hooks = { beforeRequest: [attach], beforeError: [scrub] } as unknown as NonNullable<
    Options['hooks']
  >;
  const extend = (parent: Options): Options => ({
    hooks,
    fetch: recovering(parent.fetch ?? fallback) as typeof fetch,
  });
  return Object.assign(extend, { hooks, fetch: recovering(fallback) as typeof fetch });
}
