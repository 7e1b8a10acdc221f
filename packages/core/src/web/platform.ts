import { fromBase64 } from '../encoding.js';
import { AuthError, ErrorCode } from '../errors.js';
import type { Keyring, PendingLogin, PendingLogins, Platform } from '../platform.js';
import { MemoryTokenStore } from '../store/memory-store.js';
import { idb } from './indexed-db.js';

const keyringDatabase = 'oidc-auth';

/**
 * Non-extractable DPoP keys: in IndexedDB where the page has it (a `CryptoKey` is stored as
 * it is, by structured clone, and never exported), else in this page's memory.
 */
function keyring(): Keyring {
  const memory = new Map<string, CryptoKeyPair>();
  const persistent = () => typeof indexedDB !== 'undefined';
  return {
    async put(id, pair) {
      memory.set(id, pair);
      if (persistent()) {
        await idb(keyringDatabase, 'keys', 'readwrite', 'storing a DPoP key', (s) =>
          s.put(pair, id),
        );
      }
    },
    async get(id) {
      const known = memory.get(id);
      if (known || !persistent()) return known;
      const pair = (await idb(keyringDatabase, 'keys', 'readonly', 'reading a DPoP key', (s) =>
        s.get(id),
      )) as CryptoKeyPair | undefined;
      if (pair) memory.set(id, pair);
      return pair;
    },
    async remove(id) {
      memory.delete(id);
      if (persistent()) {
        await idb(keyringDatabase, 'keys', 'readwrite', 'removing a DPoP key', (s) => s.delete(id));
      }
    },
  };
}

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
 * The web's platform (browsers, Web Workers, workerd): memory store by default, no terminal,
 * no loopback listener, non-extractable DPoP keys in a keyring, pending redirect logins in
 * `sessionStorage`.
 */
export const platform: Platform = {
  name: 'web',
  env: () => ({}),
  defaultStore: () => new MemoryTokenStore(),
  sharedFile: () => false,
  terminals: () => ({ stdin: { isTTY: false }, stderr: { isTTY: false } }),
  promptless: 'nobody can answer a device-code prompt in a page without onDeviceCode',
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
  diagnosticsChannel: () => null,
  unlimitedListeners: () => {},
  keyring: keyring(),
  signEs256: undefined,
  pkcs8: (key) => {
    const pem =
      typeof key === 'string'
        ? /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(key)
        : null;
    if (!pem?.[1]) throw new TypeError('not a PKCS#8 PEM');
    return fromBase64(pem[1]);
  },
  pendingLogins: pendingLogins(),
};
