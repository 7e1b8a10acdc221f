import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import type { ExtendOptions } from 'got';

/** Options of {@link withOidc}: every adapter option (see `@oidc-auth/core`). */
export interface WithOidcOptions extends AdapterOptions {}

/** Per-request state in got's `context`. */
const stateKey = 'oidcAuth';
type State = { header?: string; retried?: boolean };
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
          const state = (opts.context[stateKey] ?? {}) as State;
          const url = opts.url instanceof URL ? opts.url : String(opts.url ?? '');
          if (!kit.allows(url)) {
            // A redirect hop to another origin: take back what we attached.
            if (state.header && opts.headers.authorization === state.header) {
              delete opts.headers.authorization;
            }
            return;
          }
          const header = await kit.authorization(opts.signal as AbortSignal | undefined);
          opts.headers.authorization = header;
          opts.context[stateKey] = { ...state, header };
        },
      ],
      afterResponse: [
        async (response, retryWithMergedOptions) => {
          const opts = response.request.options;
          const state = (opts.context[stateKey] ?? {}) as State;
          if (!state.header || state.retried || !kit.shouldRecover(response.statusCode)) {
            return response;
          }
          await kit.recover(state.header, opts.signal as AbortSignal | undefined);
          const form = opts.context[formKey] as FormData | undefined;
          // A one-shot stream cannot be sent again: the 401 stands; the next request is recovered.
          if (!form && !kit.isReplayable(opts.body)) return response;
          // beforeRequest attaches the recovered token on the way out.
          return retryWithMergedOptions({
            ...(form ? { body: form } : {}),
            context: { [stateKey]: { retried: true } },
          });
        },
      ],
    },
  };
}
