import { setMaxListeners } from 'node:events';
import type { Environment } from '../env.js';
import type { PendingLogin, Platform } from '../platform.js';
import { nodeCrypto, nodeDiagnosticsChannel, standardTerminals } from './builtins.js';
import { FileTokenStore } from './file-store.js';
import { listenOnLoopback } from './loopback.js';
import { openAuthorizationUrl, writeDeviceCodeToStderr } from './prompt.js';

const pending = new Map<string, PendingLogin>();
/** The node:crypto twin of each DPoP key, made once per key. */
const keyObjects = new WeakMap<CryptoKey, import('node:crypto').KeyObject>();

/**
 * Node's platform (also Bun's and Deno's): the token file shared with py-oidc-auth-client,
 * the loopback listener, the terminal, `node:diagnostics_channel`. DPoP keys are extractable
 * and stored as JWKs with the token (in the file's 0600 protection).
 */
export const platform: Platform = {
  name: 'node',
  env: () => process.env,
  defaultStore: (env?: Environment) => new FileTokenStore(env ? { env } : {}),
  sharedFile: (store) => store instanceof FileTokenStore,
  terminals: standardTerminals,
  promptless: undefined,
  loginAdvice: (command, sharedFile) =>
    sharedFile
      ? `run \`${command}\` in a terminal (the token is stored and shared)`
      : `log in once from a program that uses this same store (\`${command}\` writes the token file, not this store)`,
  showDeviceCode: (event) => writeDeviceCodeToStderr(event),
  openAuthorizationUrl,
  listen: listenOnLoopback,
  diagnosticsChannel: nodeDiagnosticsChannel,
  unlimitedListeners: (signal) => setMaxListeners(0, signal),
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
  pendingLogins: {
    put: (host, login) => void pending.set(host, login),
    take: (host) => {
      const login = pending.get(host);
      pending.delete(host);
      return login;
    },
  },
};
