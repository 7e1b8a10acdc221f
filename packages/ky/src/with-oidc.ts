import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import ky, { type Options } from 'ky';

/** Options of {@link withOidc}: every adapter option (see `@oidc-auth/core`). */
export interface WithOidcOptions extends AdapterOptions {}

/**
 * ky options whose hooks attach `Authorization: Bearer …` to requests for the allowed origins,
 * refresh before expiry, and on a 401 recover (refresh, or a new login) and re-send once —
 * with `ky.retry()` while the retry budget lasts, else directly, so it works with `retry: 0`.
 * A second 401 throws ky's `HTTPError`; auth failures throw core's `AuthError`.
 *
 * @example
 * const api = ky.extend(withOidc({ host: 'https://myapp.example.com' }));
 */
export function withOidc(options: WithOidcOptions = {}): Options {
  const kit = createAdapterKit(options);
  // One recovery per call: ky gives every call its own `context` object.
  const recovered = new WeakSet<object>();

  return {
    hooks: {
      beforeRequest: [
        async (request, opts) => {
          if (!kit.allows(request.url)) return;
          request.headers.set('authorization', await kit.authorization(opts.signal));
        },
      ],
      afterResponse: [
        async (request, opts, response, state) => {
          const header = request.headers.get('authorization');
          if (!header || !kit.allows(request.url) || !kit.shouldRecover(response.status)) return;
          if (recovered.has(opts.context)) return;
          recovered.add(opts.context);
          const next = await kit.recover(header, opts.signal);
          const retry = new Request(request, { headers: new Headers(request.headers) });
          retry.headers.set('authorization', next);
          if (state.retryCount < (opts.retry.limit ?? 0)) {
            return ky.retry({ request: retry, delay: 0, code: 'OIDC_TOKEN_RECOVERED' });
          }
          // No retry budget left (e.g. `retry: 0`): re-send directly, once.
          const send = (opts as { fetch?: typeof fetch }).fetch ?? globalThis.fetch;
          return send(retry);
        },
      ],
    },
  };
}
