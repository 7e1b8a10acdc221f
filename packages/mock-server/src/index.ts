/**
 * The public API of `@oidc-auth/mock-server`.
 * @module @oidc-auth/mock-server
 */
export type { TokenAnswer } from './idp.js';
export { type MockClient, openIdPaths } from './openid-paths.js';
export type {
  DeviceRouteMode,
  ErrorShape,
  MockServerConfig,
  MockServerOptions,
} from './options.js';
export { MockConfigError } from './options.js';
export type { FaultSpec, MockLoginOptions, MockServer } from './server.js';
export { startMockServer } from './server.js';
export { headerDigest, type MockStats, type RouteName } from './stats.js';
