import type { FetchHops } from './fetch-hops.js';

/** A redirect as follow-redirects hands it to `beforeRedirect` (axios's http adapter). */
export interface RedirectOptions {
  href?: string;
  headers?: Record<string, unknown>;
}

type Hook = (redirect: RedirectOptions, ...details: unknown[]) => void;

/**
 * For clients that attach headers in a hook of their own and then send through a fetch they
 * are given (axios's fetch adapter) or through follow-redirects (axios's http adapter):
 * redirects of such a request are decided hop by hop all the same.
 */
export interface HookedClients {
  /**
   * A fetch over `base` (one per `base`; a fetch of ours is returned as it is) that follows
   * the redirects of a request carrying our `Authorization` for an allowed URL hop by hop, and
   * sends any other request as it is. Where each `Request` ended is kept for {@link endedAt}.
   */
  wrapFetch(base: typeof fetch): typeof fetch;
  /** Where a `Request` sent through a wrapped fetch ended, after redirects. */
  endedAt(request: Request): string | undefined;
  /**
   * A follow-redirects `beforeRedirect` that runs `user` (if any) and then drops
   * `Authorization` and `DPoP` on a hop to a URL not allowed (follow-redirects keeps
   * `Authorization` on subdomains). One per user hook, made once.
   */
  redirectHook<H>(user: H | undefined): H;
}

/** The hooked-client parts of a kit whose origin rule is `allows`. */
export function hookedClients(
  allows: (url: string | URL | undefined) => boolean,
  hops: FetchHops,
): HookedClients {
  const ended = new WeakMap<Request, string>();
  const fetches = new WeakMap<typeof fetch, typeof fetch>();
  /** Our own fetches: a config sent again (a re-send, axios-retry) already carries one. */
  const ours = new WeakSet<typeof fetch>();

  const wrap =
    (base: typeof fetch): typeof fetch =>
    async (input, init) => {
      const request = input instanceof Request ? input : undefined;
      const url = request?.url ?? String(input);
      const header = request?.headers.get('authorization');
      const dpop = request?.headers.get('dpop');
      const sent =
        header && allows(url) ? { authorization: header, ...(dpop ? { dpop } : {}) } : undefined;
      // A request not ours goes out as it was sent; where it ended is what fetch says.
      if (!sent) {
        const response = await base(input, init);
        if (request) ended.set(request, response.url || url);
        return response;
      }
      const followed = await hops.follow(base, input, init, sent);
      if (request) ended.set(request, followed.url);
      return followed.response;
    };

  const stripForeign: Hook = (redirect) => {
    if (!allows(redirect.href) && redirect.headers) {
      for (const name of Object.keys(redirect.headers)) {
        const lower = name.toLowerCase();
        if (lower === 'authorization' || lower === 'dpop') delete redirect.headers[name];
      }
    }
  };
  const hooks = new WeakMap<Hook, Hook>();
  const ourHooks = new WeakSet<Hook>([stripForeign]);

  return {
    wrapFetch(base) {
      if (ours.has(base)) return base;
      let wrapped = fetches.get(base);
      if (!wrapped) {
        wrapped = wrap(base);
        fetches.set(base, wrapped);
        ours.add(wrapped);
      }
      return wrapped;
    },
    endedAt: (request) => ended.get(request),
    redirectHook<H>(given: H | undefined): H {
      const user = given as Hook | undefined;
      if (!user) return stripForeign as H;
      if (ourHooks.has(user)) return given as H; // a config sent again already carries ours
      let hook = hooks.get(user);
      if (!hook) {
        hook = (redirect, ...details) => {
          user(redirect, ...details);
          stripForeign(redirect);
        };
        hooks.set(user, hook);
        ourHooks.add(hook);
      }
      return hook as H;
    },
  };
}
