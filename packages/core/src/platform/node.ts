import { nodeCrypto, nodeDiagnosticsChannel, standardTerminals } from './node-builtins.js';
import type { PlatformBase } from './types.js';

/** The node:crypto twin of each DPoP key, made once per key. */
const keyObjects = new WeakMap<CryptoKey, import('node:crypto').KeyObject>();

/**
 * Node's primitives (also Bun's and Deno's): `process.env`, the terminal,
 * `node:diagnostics_channel`, node:crypto for speed. DPoP keys are extractable and stored as
 * JWKs with the token (in the store's own protection): no keyring.
 */
export const base: PlatformBase = {
  env: () => process.env,
  terminals: standardTerminals,
  environmentless: undefined,
  promptless: undefined,
  diagnosticsChannel: nodeDiagnosticsChannel,
  keyring: undefined,
  signEs256: (key, data) => {
    let object = keyObjects.get(key);
    if (!object) {
      object = nodeCrypto().KeyObject.from(key);
      keyObjects.set(key, object);
    }
    return nodeCrypto().sign('sha256', data, { key: object, dsaEncoding: 'ieee-p1363' });
  },
  pkcs8: (key) => {
    const crypto = nodeCrypto();
    const object =
      typeof key === 'string'
        ? crypto.createPrivateKey(key)
        : (key as import('node:crypto').KeyObject);
    if (object?.type !== 'private') throw new TypeError('not a private key');
    return new Uint8Array(object.export({ format: 'der', type: 'pkcs8' }));
  },
};
