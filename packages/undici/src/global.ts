import { type AdapterOptions, AuthError, ErrorCode } from '@oidc-auth/core';
import { type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
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
  const previous = getGlobalDispatcher();
  const base = dispatcher ?? previous;
  if (typeof base?.compose !== 'function') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'dispatcher must be an undici Dispatcher (undici 7 or later: one with compose()).',
    );
  }
  setGlobalDispatcher(base.compose(oidcInterceptor(adapterOptions as AdapterOptions)));
  return () => setGlobalDispatcher(previous);
}
