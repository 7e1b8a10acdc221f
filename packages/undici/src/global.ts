import { type AdapterOptions, AuthError, ErrorCode } from '@oidc-auth/core';
import { Agent, Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { oidcInterceptor } from './interceptor.js';

/** Options of {@link installOidcDispatcher}. */
export type InstallOidcDispatcherOptions = AdapterOptions & {
  /**
   * The dispatcher to compose the interceptor onto (a `ProxyAgent`, an `Agent` with the
   * redirect interceptor…). @default the global dispatcher in place now
   */
  dispatcher?: Dispatcher;
};

/**
 * Makes the global dispatcher one that carries the token: Node's own `fetch`, undici's
 * `request`/`fetch` and every SDK built on them authenticate requests to the allowed origins
 * without being wrapped (see {@link oidcInterceptor} for the rules). Returns a function that puts
 * the dispatcher in place before back.
 *
 * @example
 * const uninstall = installOidcDispatcher({ host: 'https://myapp.example.com' });
 * await fetch('https://myapp.example.com/api/data'); // carries the token
 */
export function installOidcDispatcher(options: InstallOidcDispatcherOptions = {}): () => void {
  const { dispatcher, ...adapterOptions } = options;
  if (dispatcher !== undefined && !(dispatcher instanceof Dispatcher)) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'dispatcher must be a Dispatcher of the undici this package uses (7 or later): an Agent, a ProxyAgent… made with its classes.',
    );
  }
  // Node's own fetch, once used, leaves its bundled undici's Agent there (undici 6 on Node 20
  // and 22), which calls interceptors with the old handler API: one of ours goes in its place.
  const current = getGlobalDispatcher();
  const base = dispatcher ?? (current instanceof Dispatcher ? current : new Agent());
  // Where undici copies keep the global dispatcher: for their old and their new handler API.
  const slots = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];
  const saved = slots.map((slot) => (globalThis as Record<symbol, unknown>)[slot]);
  setGlobalDispatcher(base.compose(oidcInterceptor(adapterOptions as AdapterOptions)));
  // Both slots as they were (undici writes one for each handler API), whoever wrote them.
  return () => {
    slots.forEach((slot, i) => {
      (globalThis as Record<symbol, unknown>)[slot] = saved[i];
    });
  };
}
