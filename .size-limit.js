// Size budgets (min+gz) for what each package adds: peers, core (for adapters) and core's own
// dependencies are left out; Node built-ins are never bundled. Core's budget was 12 kB for the
// py-oidc-auth dialect alone; the standard OIDC dialect and the browser (code) flow brought it
// to about 13.3 kB (14 kB budget). Core then took in its retry loop (p-retry, ~1.5 kB and not
// counted here as a dependency, is gone) and the security round (https rules, callback checks,
// lock-loss handling, store warnings, zero-config options): 16 kB, so its budget was 17 kB.
// Service accounts (confidential clients, client_credentials, a private_key_jwt signer on
// node:crypto) and the fleet paths (LOCK_LOST, adopting pushed tokens) brought it to 17.6 kB:
// budget 18 kB. Verified ID tokens (the verifier, its key-set cache and messages; jose itself is
// a dependency and not counted), DPoP (proofs, nonces, the key kept with the token, the adapter
// kit's headers) and RFC 8693 token exchange brought it to 21.1 kB: budget 22 kB. Redirects
// followed hop by hop for fetch-shaped clients (moved out of the fetch and ky adapters, which
// shrank), redaction of what clients keep in their errors, DPoP nonces kept per server, the
// login's sub kept with the token, withdrawn tokens, OAuth error details and the file store's
// ownership check before each write brought it to 23.7 kB: budget 24.5 kB. Issue 22 (Python
// users and the CLI) added the check of option names with its "did you mean" table, the
// INTERACTIVE_SESSION rules, py-oidc-auth-client's path-less keys in the file store, redirectPorts,
// DeviceFlow storing its token and the lazy loading of built-ins (faster start-up):
// 25.4 kB (measured as ESM, the packages' format), budget 26.5 kB. The diagnostics channels
// (eight channels, their contexts) and manager.health() of issue 23: 26.7 kB, budget 27.5 kB.
// Issue 21 (browsers and edge) moved DPoP, PKCE and private_key_jwt to WebCrypto (base64 and
// PKCS#8 key-kind reading of our own instead of Buffer and KeyObject), put the platform parts
// behind #platform/base and #platform/services and added login by redirect (loginByRedirect,
// handleRedirect), and DPoP proofs signed by node:crypto through the platform: 29.3 kB,
// budget 30 kB. The browser entry is 26.6 kB on its own; with jose and an adapter, below.
// Issue 29 (sessions): the identity and its keys, an earlier version's entry adopted or named,
// pending logins per manager, a lifetime workerd accepts across requests (2.1 kB minified), the
// manager as a facade over eleven engine modules and the adapter kit in five parts (their glue,
// and #private names that do not minify: about 2.7 kB), and axios's hooked-client parts moved
// into the kit (0.8 kB): 32 kB on Node, the browser entry 29.8 kB: budget 33 kB.
// Security round 4 (issue 30) and the bad-path rules (issue 33): the refresh-refusal table, the
// loopback login bound to the server's state, RFC 9207, same-origin returnTo, the diagnostics'
// error label, the client and Basic hints, the token file's path checks with their messages
// and the lock loop (Node only): 34.35 kB. Logout (issue 31: RFC 7009 revocation, the store's
// removal reaching every manager, the file store's watch of its folder): 35.35 kB, budget 36.5 kB.
// The waiter that hears a change notice and the review after it: 36.16 kB. The report of a 401
// from an origin not served (issue 33 item 7: the event, the channel, its hint): 36.54 kB;
// abandoned logins forgotten with their keys, the write retried under the lock when the store
// says the failure passes, the page's no-server message (web only), and the browser stores'
// stand-ins in the Node build with their message: 37.12 kB, budget 37.5 kB.
const node = (config) => ({ ...config, platform: 'node', format: 'esm' });
// An app's browser bundle: platform browser, so core resolves to its browser entry.
const browser = (config) => ({ ...config, platform: 'browser', format: 'esm' });

export default [
  {
    name: '@oidc-auth/core',
    path: 'packages/core/dist/index.js',
    limit: '37.5 kB',
    ignore: ['proper-lockfile', 'jose'],
    gzip: true,
    modifyEsbuildConfig: node,
  },
  {
    // The Redis store: lock, fence, pub/sub, encryption, its Lua scripts and its messages
    // (5.2 kB measured); the Redis clients are the user's and are not bundled. Issue 23 added
    // the replicas option (WAIT after the lock and the write, its messages, WAIT on every
    // primary of an ioredis Cluster), the TRYAGAIN retry and the option-name check: 6.1 kB.
    // Issue 34: the sealed entry in the announcement (opened and checked on arrival), the
    // release tried again in a failover and a given-up lock command watched, the fence a lost
    // write may be made again at: 6.74 kB, budget 7 kB.
    name: '@oidc-auth/redis',
    path: 'packages/redis/dist/index.js',
    limit: '7 kB',
    ignore: ['@oidc-auth/core'],
    gzip: true,
    modifyEsbuildConfig: node,
  },
  {
    // The OpenTelemetry package: channel subscriptions, span nesting, ten instruments (1.9 kB
    // measured); @opentelemetry/api is the user's and core is left out.
    name: '@oidc-auth/otel',
    path: 'packages/otel/dist/index.js',
    limit: '2.5 kB',
    ignore: ['@oidc-auth/core', '@opentelemetry/api'],
    gzip: true,
    modifyEsbuildConfig: node,
  },
  // The keychain store: the store over @napi-rs/keyring (a native binding, not counted) and its
  // change notices: 1.53 kB, budget 1.75 kB.
  {
    name: '@oidc-auth/keyring',
    path: 'packages/keyring/dist/index.js',
    limit: '1.75 kB',
    ignore: ['@oidc-auth/core', '@napi-rs/keyring'],
    gzip: true,
    modifyEsbuildConfig: node,
  },
  // The undici interceptor carries undici's handler plumbing itself (a handler that holds a 401
  // back and re-dispatches, one controller across the re-send, one-shot bodies kept, the marks of
  // foreign redirects): 2.52 kB, budget 2.75 kB.
  {
    name: '@oidc-auth/undici',
    path: 'packages/undici/dist/index.js',
    limit: '2.75 kB',
    ignore: ['@oidc-auth/core', 'undici'],
    gzip: true,
    modifyEsbuildConfig: node,
  },
  ...['fetch', 'axios', 'ky', 'got'].map((name) => ({
    name: `@oidc-auth/${name}`,
    path: `packages/${name}/dist/index.js`,
    limit: '1.5 kB',
    ignore: ['@oidc-auth/core', 'axios', 'ky', 'got'],
    gzip: true,
    modifyEsbuildConfig: node,
  })),
  // Issue 21: what a browser app ships for each adapter (packages/web-tests/bundles/*.js: a
  // manager with the IndexedDB store, login by redirect, the adapter), core's browser entry and
  // jose (the ID-token check, loaded on first use) included; the HTTP client itself is not.
  // 45.3–46.1 kB, then issue 29's sessions (see core above): 48.0–48.6 kB; security round 4
  // and logout (see core above; the file store's part is Node's): 50.1–50.7 kB; the waiter on
  // change notices 50.9–51.5 kB; the unserved-origin report 51.2–51.9 kB; abandoned logins,
  // the write retry and the page's no-server message 51.7–52.4 kB; the IndexedDB store's
  // bounded Web Lock wait (lockTimeoutMs, its typed error) and the write retried while the
  // lease lasts 52.1–52.7 kB, budget 53 kB.
  ...['fetch', 'axios', 'ky'].map((name) => ({
    name: `browser: @oidc-auth/${name} + core + jose`,
    path: `packages/web-tests/bundles/${name}.js`,
    limit: '53 kB',
    ignore: ['axios', 'ky'],
    gzip: true,
    modifyEsbuildConfig: browser,
  })),
];
