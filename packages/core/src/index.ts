export {
  type AdapterKit,
  type AdapterOptions,
  createAdapterKit,
  type OriginRule,
} from './adapter-kit.js';
export { type AuthenticateOptions, authenticate } from './authenticate.js';
export { CodeFlow, type CodeFlowOptions } from './code-flow.js';
export { DeviceFlow, type DeviceFlowOptions, type PollOptions } from './device-flow.js';
export { AuthError, type AuthErrorOptions, ErrorCode, isAuthError } from './errors.js';
export {
  defaultTokenFile,
  FileTokenStore,
  type FileTokenStoreOptions,
  userCacheDir,
} from './file-store.js';
export { normalizeHost } from './host.js';
export type { HttpAnswer, PreparedRequest, RetryOptions } from './http.js';
export { batchJobVariables, isInteractive } from './interactive.js';
export { defaultLoopbackPorts } from './loopback.js';
export { MemoryTokenStore } from './memory-store.js';
export {
  normalizeIssuer,
  OidcDialect,
  type OidcOptions,
  type ProviderMetadata,
} from './oidc-dialect.js';
export type { ClientOptions } from './options.js';
export {
  type AuthorizationUrlEvent,
  type DeviceCodeEvent,
  openAuthorizationUrl,
  openBrowser,
  writeDeviceCodeToStderr,
} from './prompt.js';
export {
  type AuthorizationRequest,
  type Dialect,
  type Grant,
  type PollResult,
  parseDeviceAuthorizationResponse,
  parseOAuthError,
  parsePollResponse,
  parseRefreshResponse,
  parseTokenAnswer,
} from './protocol.js';
export { PyOidcAuthDialect, type PyOidcAuthRoutes } from './py-oidc-auth-dialect.js';
export type { StoreCorruptEvent, StoredToken, TokenStore } from './store.js';
export { type DeviceCode, parseTokenResponse, type Token } from './token.js';
export {
  TokenManager,
  type TokenManagerEvents,
  type TokenManagerOptions,
  type TokenSource,
} from './token-manager.js';
