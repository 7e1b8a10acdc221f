import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import type { ExtendOptions } from 'got';

/** Options of {@link withOidc}: every adapter option (see `@oidc-auth/core`). */
export type WithOidcOptions = AdapterOptions;

/** Marks the one re-send in got's `context` (not secret; the header itself is kept apart). */
const retryKey = 'oidcAuthRetry';
/** Set on a request once a hop of it was not allowed: no later hop carries ours. */
const foreignKey = 'oidcAuthForeignHop';
/** A FormData body, kept before got encodes it into a one-shot stream, so it can be re-sent. */
const formKey = 'oidcAuthForm';

type GotHeaders = Record<string, string | string[] | undefined>;

/**
 * got options whose hooks attach `Authorization: Bearer …` to requests for the allowed origins
 * (decided again on every redirect hop from the URLs of the chain: a hop to a URL not allowed,
 * and every hop after one, carries neither `Authorization` nor `DPoP`), refresh before expiry, and on a 401 recover (refresh,
 * or a new login) and re-send once. Nothing is written into `defaults`. A second 401 throws
 * got's `HTTPError`; auth failures throw got's `RequestError` with core's `AuthError` as
 * `cause`. Errors leave with `Authorization` and `DPoP` blanked in their `options`.
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
          // got runs this hook on every hop, redirects and re-sends included.
          const url = opts.url instanceof URL ? opts.url : String(opts.url ?? '');
          if (!kit.allows(url) || opts.context[foreignKey]) return;
          const auth = await kit.headers(opts.method, url, opts.signal as AbortSignal | undefined);
          opts.headers.authorization = auth.authorization;
          if (auth.dpop) opts.headers.dpop = auth.dpop;
          else delete opts.headers.dpop;
        },
      ],
      beforeRedirect: [
        (next, response) => {
          // Every URL of the chain so far, from the one the caller asked for: a request that
          // started on a foreign URL or passed through one gains nothing on a later hop.
          const chain = [response.requestUrl, ...response.redirectUrls, response.url, next.url];
          if (chain.every((url) => kit.allows(url as URL | string | undefined))) return;
          // got keeps `authorization` when only the scheme changes, and `dpop` always: a hop from
          // an allowed URL (where ours were attached) drops both.
          if (kit.allows(response.url) && !next.context[foreignKey]) {
            delete next.headers.authorization;
            delete next.headers.dpop;
          }
          next.context = { ...next.context, [foreignKey]: true };
        },
      ],
      afterResponse: [
        async (response, retryWithMergedOptions) => {
          const opts = response.request.options;
          // got follows redirects: `url` is the last hop, and these its headers.
          const header = (opts.headers as GotHeaders).authorization;
          kit.unserved(response.statusCode, response.url);
          if (
            typeof header !== 'string' ||
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
      beforeError: [
        (error) => {
          // The error keeps the options it was sent with: logging it must not show the token.
          // got's own retries are over by now; a new request attaches fresh headers.
          kit.redact(error.options?.headers, error.request?.options?.headers);
          return error;
        },
      ],
    },
  };
}
