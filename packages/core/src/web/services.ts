import { AuthError, ErrorCode } from '../errors.js';
import type { PendingLogin, PendingLogins, PlatformServices } from '../platform-services.js';
import { MemoryTokenStore } from '../store/memory-store.js';

/** Pending redirect logins: in `sessionStorage` (this tab, across the page load), else memory. */
function pendingLogins(): PendingLogins {
  const memory = new Map<string, PendingLogin>();
  const storage = () => (typeof sessionStorage === 'undefined' ? undefined : sessionStorage);
  const key = (host: string) => `oidc-auth:login:${host}`;
  return {
    put(host, login) {
      const session = storage();
      if (session) session.setItem(key(host), JSON.stringify(login));
      else memory.set(host, login);
    },
    take(host) {
      const session = storage();
      if (!session) {
        const login = memory.get(host);
        memory.delete(host);
        return login;
      }
      const text = session.getItem(key(host));
      session.removeItem(key(host));
      try {
        return text === null ? undefined : (JSON.parse(text) as PendingLogin);
      } catch {
        return undefined;
      }
    },
  };
}

const noTerminal = () =>
  new AuthError(
    ErrorCode.INVALID_OPTIONS,
    'There is no terminal or loopback listener here (a browser or a worker): log in with manager.loginByRedirect(), or pass onDeviceCode to show the device code in the page.',
  );

/**
 * The web's services: memory store by default, no terminal and no loopback listener (login by
 * redirect instead), pending redirect logins in `sessionStorage`.
 */
export const services: PlatformServices = {
  defaultStore: () => new MemoryTokenStore(),
  sharedFile: () => false,
  loginAdvice: () => "call manager.loginByRedirect() to log in on the provider's page",
  showDeviceCode: () => {
    throw noTerminal();
  },
  openAuthorizationUrl: () => {
    throw noTerminal();
  },
  listen: async () => {
    throw noTerminal();
  },
  pendingLogins: pendingLogins(),
  location: () => (globalThis as { location?: { href?: string } }).location?.href,
  navigate: (url) =>
    (globalThis as { location?: { assign?(url: string): void } }).location?.assign?.(url),
};
