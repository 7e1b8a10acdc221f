import { type AdapterOptions, type AnswerHeaders, createAdapterKit } from '@oidc-auth/core';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';

/** Options of {@link oidcAuth}: every adapter option (see `@oidc-auth/core`). */
export type OidcAuthOptions = AdapterOptions;

/** Marks the one re-send, on the config under a string key (axios copies only string keys). */
const retryKey = '_oidcAuthRetry';
type Config = InternalAxiosRequestConfig & { [retryKey]?: boolean };
/** What we attached to a request, and where its last redirect went: never on the config itself, which errors carry. */
type Sent = { header: string; finalUrl: string };
type RedirectOptions = { href?: string; headers?: Record<string, unknown> };

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
 * Teaches an axios instance to attach `Authorization: Bearer …` to requests for the allowed
 * origins, to refresh before expiry, and on a 401 to recover (refresh, or a new login) and
 * re-send once. Returns the installer; installing returns a function that ejects both
 * interceptors. A second 401 rejects as axios always does (an `AxiosError`); auth failures
 * reject with core's `AuthError`.
 *
 * @example
 * const api = axios.create({ baseURL: 'https://myapp.example.com/api' });
 * const eject = oidcAuth({ host: 'https://myapp.example.com' })(api);
 */
export function oidcAuth(options: OidcAuthOptions = {}): (instance: AxiosInstance) => () => void {
  const kit = createAdapterKit(options);

  return (instance) => {
    const sent = new WeakMap<object, Sent>();

    const request = instance.interceptors.request.use(async (config: Config) => {
      const url = urlOf(config);
      if (!kit.allows(url)) return config;
      const auth = await kit.headers(config.method ?? 'get', url, signalOf(config));
      const header = auth.authorization;
      config.headers.set('Authorization', header);
      if (auth.dpop) config.headers.set('DPoP', auth.dpop);
      const record: Sent = { header, finalUrl: url };
      sent.set(config, record);
      // follow-redirects keeps Authorization on subdomains: drop it for any origin not allowed.
      const userHook = config.beforeRedirect;
      config.beforeRedirect = (redirect: RedirectOptions, ...details) => {
        userHook?.(redirect, ...details);
        if (redirect.href) record.finalUrl = redirect.href;
        if (!kit.allows(redirect.href) && redirect.headers) {
          for (const name of Object.keys(redirect.headers)) {
            const lower = name.toLowerCase();
            if (lower === 'authorization' || lower === 'dpop') delete redirect.headers[name];
          }
        }
      };
      return config;
    });

    /**
     * A 401 to a request we attached a token to, answered by an allowed origin (not a foreign
     * one reached through a redirect), not yet re-sent: what we sent, else undefined.
     */
    function owed(
      config: Config | undefined,
      status: number | undefined,
      headers: AnswerHeaders,
    ): Sent | undefined {
      const record = config && sent.get(config);
      if (!record) return undefined;
      const recover = kit.shouldRecover(status ?? 0, record.finalUrl, headers);
      return recover && !config[retryKey] ? record : undefined;
    }

    /** Recovers and re-sends once; undefined when the body cannot be sent again. */
    async function resend(config: Config, record: Sent, headers: AnswerHeaders) {
      await kit.recover(record.header, signalOf(config), headers);
      // A one-shot stream cannot be sent again: the 401 stands; the next request is recovered.
      if (!kit.isReplayable(config.data)) return undefined;
      config[retryKey] = true;
      // The request interceptor attaches the recovered token on the way out.
      return instance.request(config);
    }

    const response = instance.interceptors.response.use(
      // `validateStatus` may let a 401 through as a response: recover it too.
      (res) => {
        const record = owed(res.config, res.status, res.headers as AnswerHeaders);
        return record
          ? resend(res.config, record, res.headers as AnswerHeaders).then((again) => again ?? res)
          : res;
      },
      async (error: AxiosError) => {
        const config = error.config as Config | undefined;
        const headers = error.response?.headers as AnswerHeaders | undefined;
        const record = owed(config, error.response?.status, headers);
        const again = config && record ? await resend(config, record, headers) : undefined;
        if (again) return again;
        throw error;
      },
    );

    return () => {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    };
  };
}
