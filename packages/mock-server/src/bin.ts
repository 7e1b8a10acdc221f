#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type DeviceRouteMode, type ErrorShape, startMockServer } from './index.js';

const usage = `Usage: oidc-auth-mock-server [options]

A py-oidc-auth-compatible auth server (routes under /auth/v2/) and a standard OpenID Provider
(issuer: its base URL; discovery, device, code + PKCE, refresh, client credentials, revocation,
DPoP under /oauth/), with a protected API under /api/, for tests and demos.
Prints its base URL as the first line and runs until SIGINT or SIGTERM.

Options:
  --host H                 address to listen on (default 127.0.0.1)
  --port N                 port (default: a free one)
  --access-ttl S           access-token lifetime in seconds (default 300)
  --refresh-ttl S          refresh-token lifetime in seconds (default 3600)
  --interval S             device polling interval in seconds (default 5)
  --device-expires-in S    device-code lifetime in seconds (default 600)
  --auto-approve N         approve device logins by themselves at poll N+1
  --no-rotation            keep refresh tokens on refresh
  --no-reuse-detection     do not revoke a family when a rotated refresh token is reused
  --error-shape SHAPE      py-oidc-auth (default) or rfc6749
  --device-route MODE      on, unavailable, not-mounted or no-device-endpoint
  --scope "A B"            scopes granted to new tokens
  --cors ORIGIN            let a web page on ORIGIN call it (repeatable; * for any)
  --client ID[:SECRET]     a client the OpenID Provider knows (repeatable); none: any client id
  --dpop-nonce             the OpenID Provider's token endpoint demands a DPoP nonce
  --no-openid-provider     py-oidc-auth routes only (discovery and /oauth/ answer 404)
  -h, --help               this text

Test controls: POST /_mock/approve|deny|revoke-all|config|fault|issue|reset, GET /_mock/stats.`;

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`oidc-auth-mock-server: --${name} needs a number, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'access-ttl': { type: 'string' },
      'refresh-ttl': { type: 'string' },
      interval: { type: 'string' },
      'device-expires-in': { type: 'string' },
      'auto-approve': { type: 'string' },
      'no-rotation': { type: 'boolean' },
      'no-reuse-detection': { type: 'boolean' },
      'error-shape': { type: 'string' },
      'device-route': { type: 'string' },
      scope: { type: 'string' },
      cors: { type: 'string', multiple: true },
      client: { type: 'string', multiple: true },
      'dpop-nonce': { type: 'boolean' },
      'no-openid-provider': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}
try {
  parsed = parse();
} catch (error) {
  console.error(`oidc-auth-mock-server: ${(error as Error).message}\n\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const options = Object.fromEntries(
  Object.entries({
    host: values.host,
    port: num('port', values.port),
    accessTtl: num('access-ttl', values['access-ttl']),
    refreshTtl: num('refresh-ttl', values['refresh-ttl']),
    interval: num('interval', values.interval),
    deviceExpiresIn: num('device-expires-in', values['device-expires-in']),
    autoApprove: num('auto-approve', values['auto-approve']),
    rotation: values['no-rotation'] ? false : undefined,
    reuseDetection: values['no-reuse-detection'] ? false : undefined,
    errorShape: values['error-shape'] as ErrorShape | undefined,
    deviceRoute: values['device-route'] as DeviceRouteMode | undefined,
    scope: values.scope,
    cors: values.cors?.includes('*') ? '*' : values.cors,
    dpopNonce: values['dpop-nonce'],
    openIdProvider: values['no-openid-provider'] ? false : undefined,
    clients: values.client?.map((given) => {
      const colon = given.indexOf(':');
      return colon < 0
        ? { clientId: given }
        : { clientId: given.slice(0, colon), clientSecret: given.slice(colon + 1) };
    }),
  }).filter(([, v]) => v !== undefined),
);

try {
  const server = await startMockServer(options);
  console.log(server.url);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  console.error(`oidc-auth-mock-server: ${(error as Error).message}`);
  process.exit(2);
}
