import { fromBase64 } from '../encoding.js';
import { idb } from './indexed-db.js';
import type { Keyring, PlatformBase } from './types.js';

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

/**
 * The web's primitives (browsers, Web Workers, workerd): no environment, no terminal, no
 * diagnostics channel; non-extractable DPoP keys in a keyring; PKCS#8 PEMs read here.
 */
export const base: PlatformBase = {
  env: () => ({}),
  terminals: () => ({ stdin: { isTTY: false }, stderr: { isTTY: false } }),
  promptless: 'nobody can answer a device-code prompt in a page without onDeviceCode',
  environmentless:
    'No server given, and a page or Worker has no environment variables (OIDC_HOST is read on Node only): pass { host: "https://myapp.example.com" } or { issuer, clientId } in code. With Vite, put VITE_OIDC_HOST=https://myapp.example.com in .env and pass { host: import.meta.env.VITE_OIDC_HOST }; a Worker takes it from its env binding.',
  diagnosticsChannel: () => null,
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
};
