import { AuthError, ErrorCode } from '../errors.js';
import { memoryPendingLogins } from '../pending-logins.js';
import type { PendingLogin, PendingLogins, PlatformServices } from '../platform-services.js';
import { MemoryTokenStore } from '../store/memory-store.js';

/**
 * A manager's pending redirect logins: in this tab's `sessionStorage` under the manager's
 * identity (they must outlive the page load), else (a Web Worker, workerd) in the manager's own
 * memory, so that tenants of one isolate never share them.
 */
function pendingLogins(identity: string): PendingLogins {
  const session = typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  if (!session) return memoryPendingLogins();
  const prefix = `oidc-auth:login:${identity}|`;
  const read = (item: string): PendingLogin | undefined => {
    try {
      const text = session.getItem(item);
      return text === null ? undefined : (JSON.parse(text) as PendingLogin);
    } catch {
      return undefined;
    }
  };
  return {
    put: (key, login) => session.setItem(prefix + key, JSON.stringify(login)),
    get: (key) => read(prefix + key),
    remove: (key) => session.removeItem(prefix + key),
    purge(startedBefore) {
      const items: string[] = [];
      for (let i = 0; i < session.length; i++) {
        const item = session.key(i);
        if (item?.startsWith(prefix)) items.push(item);
      }
      const gone: PendingLogin[] = [];
      for (const item of items) {
        const login = read(item);
        const startedAt = login?.startedAt;
        if (typeof startedAt === 'number' && startedAt >= startedBefore) continue;
        session.removeItem(item);
        if (login) gone.push(login);
      }
      return gone;
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
 * redirect instead), each manager's pending redirect logins in `sessionStorage` (a tab) or its own memory.
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
  pendingLogins,
  location: () => (globalThis as { location?: { href?: string } }).location?.href,
  navigate: (url) =>
    (globalThis as { location?: { assign?(url: string): void } }).location?.assign?.(url),
};
