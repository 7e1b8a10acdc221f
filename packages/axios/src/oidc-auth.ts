import { type AdapterOptions, type AnswerHeaders, createAdapterKit } from '@oidc-auth/core';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';

/** Options of {@link oidcAuth}: every adapter option (see `@oidc-auth/core`). */
export type OidcAuthOptions = AdapterOptions;

/** Marks the one re-send, on the config under a string key (axios copies only string keys). */
const retryKey = '_oidcAuthRetry';
type Config = InternalAxiosRequestConfig & { [retryKey]?: boolean };
type RedirectOptions = { href?: string; headers?: Record<string, unknown> };
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
    /** Where each request the fetch adapter sent ended, after the redirects we followed. */
    const ended = new WeakMap<Request, string>();
    /** One fetch per underlying fetch: axios keeps an adapter per fetch function it is given. */
    const fetches = new WeakMap<typeof fetch, typeof fetch>();
    /** Our own fetches: a config sent again (a re-send, axios-retry) already carries one. */
    const ours = new WeakSet<typeof fetch>();
    const fetchFor = (base: typeof fetch): typeof fetch => {
      if (ours.has(base)) return base;
      let wrapped = fetches.get(base);
      if (!wrapped) {
        wrapped = async (input, init) => {
          const request = input instanceof Request ? input : undefined;
          const url = request?.url ?? String(input);
          const header = request?.headers.get('authorization');
          const dpop = request?.headers.get('dpop');
          const sent =
            header && kit.allows(url)
              ? { authorization: header, ...(dpop ? { dpop } : {}) }
              : undefined;
          // A request not ours goes out as axios sent it; where it ended is what fetch says.
          if (!sent) {
            const response = await base(input, init);
            if (request) ended.set(request, response.url || url);
            return response;
          }
          const followed = await kit.follow(base, input, init, sent);
          if (request) ended.set(request, followed.url);
          return followed.response;
        };
        fetches.set(base, wrapped);
        ours.add(wrapped);
      }
      return wrapped;
    };

    /**
     * Where the answer came from, as the adapter that got it reports it: the fetch adapter's
     * request (whose redirects we followed), XHR's `responseURL`, follow-redirects'
     * `responseUrl`; the request's own URL when no redirect can have been followed. Undefined
     * when unknown: no recovery then.
     */
    function finalUrlOf(config: Config, request: SentRequest): string | undefined {
      if (typeof Request !== 'undefined' && request instanceof Request) return ended.get(request);
      const xhr = (request as { responseURL?: unknown } | undefined)?.responseURL;
      if (typeof xhr === 'string' && xhr !== '') return xhr;
      const followed = (request as { res?: { responseUrl?: unknown } } | undefined)?.res
        ?.responseUrl;
      if (typeof followed === 'string') return followed;
      return config.maxRedirects === 0 ? urlOf(config) : undefined;
    }

    /** follow-redirects keeps Authorization on subdomains: drop ours for any origin not allowed. */
    const stripForeign = (redirect: RedirectOptions) => {
      if (!kit.allows(redirect.href) && redirect.headers) {
        for (const name of Object.keys(redirect.headers)) {
          const lower = name.toLowerCase();
          if (lower === 'authorization' || lower === 'dpop') delete redirect.headers[name];
        }
      }
    };
    type Hook = NonNullable<Config['beforeRedirect']>;
    /** Our hooks, one per user hook (made once, not per request), and the plain one. */
    const hooks = new WeakMap<Hook, Hook>();
    const ourHooks = new WeakSet<Hook>([stripForeign as Hook]);
    const hookFor = (user: Hook | undefined): Hook => {
      if (!user) return stripForeign as Hook;
      if (ourHooks.has(user)) return user; // a config sent again already carries ours
      let hook = hooks.get(user);
      if (!hook) {
        hook = ((redirect: RedirectOptions, ...details: unknown[]) => {
          (user as (...args: unknown[]) => void)(redirect, ...details);
          stripForeign(redirect);
        }) as Hook;
        hooks.set(user, hook);
        ourHooks.add(hook);
      }
      return hook;
    };

    const request = instance.interceptors.request.use(async (config: Config) => {
      const url = urlOf(config);
      if (!kit.allows(url)) return config;
      // The fetch adapter's redirects are followed hop by hop (used only when it is chosen).
      // axios merges `env` into a new object for every request: set ours on it.
      const env = config.env as { fetch?: typeof fetch } | undefined;
      const wrapped = fetchFor(env?.fetch ?? globalThis.fetch);
      if (env) env.fetch = wrapped;
      else config.env = { fetch: wrapped } as NonNullable<Config['env']>;
      const auth = await kit.headers(config.method ?? 'get', url, signalOf(config));
      config.headers.set('Authorization', auth.authorization);
      if (auth.dpop) config.headers.set('DPoP', auth.dpop);
      else config.headers.delete('DPoP');
      config.beforeRedirect = hookFor(config.beforeRedirect);
      return config;
    });

    /**
     * A 401 to a request we attached a token to, answered by an allowed origin (not a foreign
     * one reached through a redirect), not yet re-sent: the header we sent, else undefined.
     */
    function owed(
      config: Config | undefined,
      status: number | undefined,
      headers: AnswerHeaders,
      sentRequest: SentRequest,
    ): string | undefined {
      if (!config || config[retryKey]) return undefined;
      if (!kit.answerMatters(status ?? 0)) return undefined;
      const header = config.headers?.get?.('Authorization');
      if (typeof header !== 'string' || !kit.allows(urlOf(config))) return undefined;
      const recover = kit.shouldRecover(status ?? 0, finalUrlOf(config, sentRequest), headers);
      return recover ? header : undefined;
    }

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
        const header = owed(res.config, res.status, headers, res.request as SentRequest);
        return header ? resend(res.config, header, headers).then((again) => again ?? res) : res;
      },
      async (error: AxiosError) => {
        const config = error.config as Config | undefined;
        const headers = error.response?.headers as AnswerHeaders | undefined;
        const header = owed(config, error.response?.status, headers, error.request as SentRequest);
        const again = config && header ? await resend(config, header, headers) : undefined;
        if (again) return again;
        // Logging the error must not show the token; a retry re-using the config is attached anew.
        // The http adapter's ClientRequest links back to follow-redirects' request and options.
        const sent = error.request as
          | { _redirectable?: { _options?: { headers?: unknown } } }
          | undefined;
        kit.redact(
          config?.headers,
          error.request,
          sent?._redirectable?._options?.headers,
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
