import {
  type AdapterKit,
  type AdapterOptions,
  type AnswerHeaders,
  createAdapterKit,
} from '@oidc-auth/core';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';

/** Options of {@link oidcAuth}: every adapter option (see `@oidc-auth/core`). */
export type OidcAuthOptions = AdapterOptions;

/** Marks the one re-send, on the config under a string key (axios copies only string keys). */
const retryKey = '_oidcAuthRetry';
type Config = InternalAxiosRequestConfig & { [retryKey]?: boolean };
/** What axios keeps of the request an answer came from, per adapter. */
type SentRequest = { responseURL?: unknown; res?: { responseUrl?: unknown } } | Request | undefined;

const absolute = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * The request's URL as axios will build it (its `buildFullPath`), without `getUri()`, which
 * re-merges the whole config on every request. Params only add a query, which does not change
 * the origin.
 */
function urlOf(config: Config): string {
  const url = config.url ?? '';
  const base = config.baseURL;
  if (!base || (absolute.test(url) && config.allowAbsoluteUrls !== false)) return url;
  return url ? `${base.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}` : base;
}

function signalOf(config: Config): AbortSignal | undefined {
  return config.signal instanceof AbortSignal ? config.signal : undefined;
}

/**
 * Where the answer came from, as the adapter that got it reports it: the fetch adapter's
 * request (whose redirects the kit followed), XHR's `responseURL`, follow-redirects'
 * `responseUrl`; the request's own URL when no redirect can have been followed. Undefined when
 * unknown: no recovery then.
 */
function finalUrlOf(kit: AdapterKit, config: Config, request: SentRequest): string | undefined {
  if (typeof Request !== 'undefined' && request instanceof Request) return kit.endedAt(request);
  const xhr = (request as { responseURL?: unknown } | undefined)?.responseURL;
  if (typeof xhr === 'string' && xhr !== '') return xhr;
  const followed = (request as { res?: { responseUrl?: unknown } } | undefined)?.res?.responseUrl;
  if (typeof followed === 'string') return followed;
  return config.maxRedirects === 0 ? urlOf(config) : undefined;
}

/**
 * A 401 to a request we attached a token to, answered by an allowed origin (not a foreign one
 * reached through a redirect), not yet re-sent: the header we sent, else undefined.
 */
function owed(
  kit: AdapterKit,
  config: Config | undefined,
  status: number | undefined,
  headers: AnswerHeaders,
  sent: SentRequest,
): string | undefined {
  if (!config || config[retryKey] || !kit.answerMatters(status ?? 0)) return undefined;
  const header = config.headers?.get?.('Authorization');
  if (status === 401) kit.unserved(401, finalUrlOf(kit, config, sent));
  if (typeof header !== 'string' || !kit.allows(urlOf(config))) return undefined;
  return kit.shouldRecover(status ?? 0, finalUrlOf(kit, config, sent), headers)
    ? header
    : undefined;
}

/**
 * Teaches an axios instance to attach `Authorization: Bearer …` to requests for the allowed
 * origins, to refresh before expiry, and on a 401 to recover (refresh, or a new login) and
 * re-send once. Returns the installer; installing returns a function that ejects both
 * interceptors. A second 401 rejects as axios always does (an `AxiosError`); auth failures
 * reject with core's `AuthError`. Redirects: each hop to a URL not allowed carries neither
 * `Authorization` nor `DPoP`, with the http adapter and with the fetch adapter (whose redirects
 * are then followed hop by hop). Errors leave with those headers blanked in their `config` and
 * `request`.
 *
 * @example
 * const api = axios.create({ baseURL: 'https://myapp.example.com/api' });
 * const eject = oidcAuth({ host: 'https://myapp.example.com' })(api);
 */
export function oidcAuth(options: OidcAuthOptions = {}): (instance: AxiosInstance) => () => void {
  const kit = createAdapterKit(options);
  return (instance) => {
    const request = instance.interceptors.request.use(async (config: Config) => {
      const url = urlOf(config);
      if (!kit.allows(url)) return config;
      // The fetch adapter's redirects are followed hop by hop (used only when it is chosen).
      // axios merges `env` into a new object for every request: set ours on it.
      const env = config.env as { fetch?: typeof fetch } | undefined;
      const wrapped = kit.wrapFetch(env?.fetch ?? globalThis.fetch);
      if (env) env.fetch = wrapped;
      else config.env = { fetch: wrapped } as NonNullable<Config['env']>;
      const auth = await kit.headers(config.method ?? 'get', url, signalOf(config));
      config.headers.set('Authorization', auth.authorization);
      if (auth.dpop) config.headers.set('DPoP', auth.dpop);
      else config.headers.delete('DPoP');
      config.beforeRedirect = kit.redirectHook(config.beforeRedirect);
      return config;
    });

    /** Recovers and re-sends once; undefined when the body cannot be sent again. */
    async function resend(config: Config, header: string, headers: AnswerHeaders) {
      await kit.recover(header, signalOf(config), headers);
      // A one-shot stream cannot be sent again: the 401 stands; the next request is recovered.
      if (!kit.isReplayable(config.data)) return undefined;
      config[retryKey] = true;
      // The request interceptor attaches the recovered token on the way out.
      return instance.request(config);
    }

    const response = instance.interceptors.response.use(
      // `validateStatus` may let a 401 through as a response: recover it too.
      (res) => {
        const headers = res.headers as AnswerHeaders;
        const header = owed(kit, res.config, res.status, headers, res.request as SentRequest);
        return header ? resend(res.config, header, headers).then((again) => again ?? res) : res;
      },
      async (error: AxiosError) => {
        const config = error.config as Config | undefined;
        const headers = error.response?.headers as AnswerHeaders | undefined;
        const sent = error.request as SentRequest;
        const header = owed(kit, config, error.response?.status, headers, sent);
        const again = config && header ? await resend(config, header, headers) : undefined;
        if (again) return again;
        // Logging the error must not show the token; a retry re-using the config is attached anew.
        // The http adapter's ClientRequest links back to follow-redirects' request and options.
        const redirectable = (
          error.request as { _redirectable?: { _options?: { headers?: unknown } } }
        )?._redirectable;
        kit.redact(
          config?.headers,
          error.request,
          redirectable?._options?.headers,
          error.response?.request,
        );
        throw error;
      },
    );

    return () => {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    };
  };
}
