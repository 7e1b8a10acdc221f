/**
 * What every platform's entry of `@oidc-auth/core` exports: the manager, the adapter kit, the
 * dialects, the errors and the in-memory store. Nothing here reaches a `node:` module; the
 * platform parts come through `#platform` (see platform/types.ts).
 */
export {
  type AdapterKit,
  type AdapterOptions,
  createAdapterKit,
  type OriginRule,
  type OriginsOption,
  type SharedManager,
} from './adapter-kit.js';
export {
  type AuthenticateCall,
  type AuthenticateOptions,
  authenticate,
  DeviceFlow,
  type DeviceFlowOptions,
  type PollOptions,
} from './authenticate.js';
export { diagnosticsChannels, type TraceContext } from './diagnostics.js';
export type { ClientAssertionKey, PrivateKeyLike } from './dialects/client-auth.js';
export { parseDiscoveryAnswer } from './dialects/discovery.js';
export { OidcDialect, type OidcOptions } from './dialects/oidc.js';
export {
  type AuthorizationRequest,
  type Dialect,
  type Discovery,
  type Grant,
  type PollResult,
  type ProviderMetadata,
  parseDeviceAuthorizationAnswer,
  parseOAuthErrorJson,
  parsePollAnswer,
  parseRefreshAnswer,
  parseTokenAnswer,
  type TokenExchangeOptions,
} from './dialects/protocol.js';
export { PyOidcAuthDialect, type PyOidcAuthRoutes } from './dialects/py-oidc-auth.js';
export { type AnswerHeaders, DpopKey } from './dpop.js';
export type { Environment, TextSink } from './env.js';
export { AuthError, type AuthErrorOptions, ErrorCode, isAuthError } from './errors.js';
export { CodeFlow, type CodeFlowOptions, type PortsOption } from './flows/code-flow.js';
export type { RedirectLoginOptions, RedirectResult } from './flows/redirect-login.js';
export { baseUrl, normalizeHost, normalizeIssuer } from './host.js';
export type { HttpAnswer, PreparedRequest, RetryOptions } from './http.js';
export type { IdTokenClaims } from './id-token.js';
export {
  batchJobVariables,
  interactiveSessionVariable,
  isInteractive,
  type LoginSituation,
  loginSituation,
  type Stdio,
} from './interactive.js';
export type { TokenManagerEvents, TokenSource } from './manager/events.js';
export type { LogoutOptions, LogoutResult, Revocation } from './manager/logout.js';
export {
  type AuthHeaders,
  type ManagerHealth,
  type StoreOption,
  TokenManager,
  type TokenManagerOptions,
} from './manager/token-manager.js';
export { refuseUnknownOptions } from './option-names.js';
export type {
  AuthorizationUrlEvent,
  ClientOptions,
  CommonOptions,
  DeviceCodeEvent,
  DialectServer,
  EnvironmentServer,
  HostServer,
  IssuerServer,
  ServerOptions,
} from './options.js';
export { defaultLoopbackPorts } from './options.js';
export type { Followed } from './redirects.js';
export type { Sleep } from './sleep.js';
export {
  parseSessionKey,
  type SessionIdentity,
  sessionIdentity,
  storeKey,
} from './store/identity.js';
export { MemoryTokenStore } from './store/memory-store.js';
export {
  isTransientStoreError,
  type LockedEntry,
  type StoreChangedEvent,
  type StoreCorruptEvent,
  type StoredToken,
  type StoreEvent,
  type StoreInsecureEvent,
  storedEntry,
  type TokenStore,
} from './store/store.js';
export {
  type DeviceCode,
  parseStoredToken,
  parseTokenJson,
  type Token,
  unverifiedClaims,
} from './token.js';
export { isLoopbackHost, printable } from './urls.js';
