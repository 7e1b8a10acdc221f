import type { Environment } from '../env.js';
import { memoryPendingLogins } from '../pending-logins.js';
import type { PlatformServices } from '../platform-services.js';
import { FileTokenStore } from './file-store.js';
import { listenOnLoopback } from './loopback.js';
import { openAuthorizationUrl, writeDeviceCodeToStderr } from './prompt.js';

/**
 * Node's services: the token file shared with py-oidc-auth-client, the loopback listener and
 * the terminal prompts; each manager's pending redirect logins in its own memory.
 */
export const services: PlatformServices = {
  defaultStore: (env?: Environment) => new FileTokenStore(env ? { env } : {}),
  sharedFile: (store) => store instanceof FileTokenStore,
  loginAdvice: (command, sharedFile) =>
    sharedFile
      ? `run \`npx --no -- ${command}\` in a terminal (the token is stored and shared)`
      : `log in once from a program that uses this same store (\`npx --no -- ${command}\` writes the token file, not this store)`,
  showDeviceCode: (event) => writeDeviceCodeToStderr(event),
  openAuthorizationUrl,
  listen: listenOnLoopback,
  location: () => undefined,
  navigate: () => {},
  pendingLogins: memoryPendingLogins,
};
