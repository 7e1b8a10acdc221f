import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import type { ExtendOptions } from 'got';

/** Options of {@link withOidc}: every adapter option (see `@oidc-auth/core`). */
export type WithOidcOptions = AdapterOptions;

/** Marks the one re-send in got's `context` (not secret; the header itself is kept apart). */
const retryKey = 'oidcAuthRetry';
/** A FormData body, kept before got encodes it into a one-shot stream, so it can be re-sent. */
const formKey = 'oidcAuthForm';

/**
 * got options whose hooks attach `Authorization: Bearer …` to requests for the allowed origins
 * (checked again on every redirect hop), refresh before expiry, and on a 401 recover (refresh,
 * or a new login) and re-send once. Nothing is written into `defaults`. A second 401 throws
 * got's `HTTPError`; auth failures throw got's `RequestError` with core's `AuthError` as `cause`.
 *
 * @example
 * const api = got.extend(withOidc({ host: 'https://myapp.example.com' }));
 */
export function withOidc(options: WithOidcOptions = {}): ExtendOptions {
  const kit = createAdapterKit(options);
  // The header attached to each request's options: never in the options or context, which
  // got's errors carry.
  const attached = new WeakMap<object, string>();

  return {
    hooks: {
      init: [
        (init) => {
          if (init.body instanceof FormData)
            init.context = { ...init.context, [formKey]: init.body };
        },
      ],
      beforeRequest: [
        async (opts) => {
          const url = opts.url instanceof URL ? opts.url : String(opts.url ?? '');
          if (!kit.allows(url)) {
            // A redirect hop to another origin: take back what we attached.
            const ours = attached.get(opts);
            if (ours && opts.headers.authorization === ours) {
              delete opts.headers.authorization;
              delete opts.headers.dpop;
            }
            attached.delete(opts);
            return;
          }
          const auth = await kit.headers(opts.method, url, opts.signal as AbortSignal | undefined);
          opts.headers.authorization = auth.authorization;
          // A proof for each hop: got runs this hook again on every redirect and re-send.
          if (auth.dpop) opts.headers.dpop = auth.dpop;
          attached.set(opts, auth.authorization);
        },
      ],
      afterResponse: [
        async (response, retryWithMergedOptions) => {
          const opts = response.request.options;
          const header = attached.get(opts);
          // got follows redirects: `url` is the last hop.
          if (
            !header ||
            opts.context[retryKey] ||
            !kit.shouldRecover(response.statusCode, response.url, response.headers)
          ) {
            return response;
          }
          await kit.recover(header, opts.signal as AbortSignal | undefined, response.headers);
          const form = opts.context[formKey] as FormData | undefined;
          // A one-shot stream cannot be sent again: the 401 stands; the next request is recovered.
          if (!form && !kit.isReplayable(opts.body)) return response;
          // beforeRequest attaches the recovered token on the way out.
          return retryWithMergedOptions({
            ...(form ? { body: form } : {}),
            context: { [retryKey]: true },
          });
        },
      ],
    },
  };
}
