import { type AdapterOptions, createAdapterKit } from '@oidc-auth/core';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';

/** Options of {@link oidcAuth}: every adapter option (see `@oidc-auth/core`). */
export interface OidcAuthOptions extends AdapterOptions {}

/** Per-request state, kept on the config under a string key (axios copies only string keys). */
const stateKey = '_oidcAuth';
type State = { header: string; retried: boolean };
type Config = InternalAxiosRequestConfig & { [stateKey]?: State };
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
    const request = instance.interceptors.request.use(async (config: Config) => {
      const allowed = kit.allows(urlOf(config));
      if (!allowed) return config;
      const header = await kit.authorization(signalOf(config));
      config.headers.set('Authorization', header);
      config[stateKey] = { header, retried: config[stateKey]?.retried ?? false };
      // follow-redirects keeps Authorization on subdomains: drop it for any origin not allowed.
      const userHook = config.beforeRedirect;
      config.beforeRedirect = (redirect: RedirectOptions, ...details) => {
        userHook?.(redirect, ...details);
        if (!kit.allows(redirect.href) && redirect.headers) {
          for (const name of Object.keys(redirect.headers)) {
            if (name.toLowerCase() === 'authorization') delete redirect.headers[name];
          }
        }
      };
      return config;
    });

    const response = instance.interceptors.response.use(undefined, async (error: AxiosError) => {
      const config = error.config as Config | undefined;
      const state = config?.[stateKey];
      if (!config || !state || state.retried || !kit.shouldRecover(error.response?.status ?? 0)) {
        throw error;
      }
      await kit.recover(state.header, signalOf(config));
      // A one-shot stream cannot be sent again: the 401 stands; the next request is recovered.
      if (!kit.isReplayable(config.data)) throw error;
      state.retried = true;
      // The request interceptor attaches the recovered token on the way out.
      return instance.request(config);
    });

    return () => {
      instance.interceptors.request.eject(request);
      instance.interceptors.response.eject(response);
    };
  };
}
