import { setMaxListeners } from 'node:events';
import type { Environment } from '../env.js';
import { listenOnLoopback } from '../flows/loopback.js';
import { openAuthorizationUrl, writeDeviceCodeToStderr } from '../flows/prompt.js';
import { nodeCrypto, nodeDiagnosticsChannel, standardTerminals } from '../node-builtins.js';
import { FileTokenStore } from '../store/file-store.js';
import type { PendingLogin, Platform } from './types.js';

const pending = new Map<string, PendingLogin>();

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
  showDeviceCode: (event) => writeDeviceCodeToStderr(event),
  openAuthorizationUrl,
  listen: listenOnLoopback,
  diagnosticsChannel: nodeDiagnosticsChannel,
  unlimitedListeners: (signal) => setMaxListeners(0, signal),
  keyring: undefined,
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
