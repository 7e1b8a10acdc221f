import { base } from '#platform/base';
import { OidcDialect, type OidcOptions } from './dialects/oidc.js';
import type { Dialect } from './dialects/protocol.js';
import { PyOidcAuthDialect, type PyOidcAuthRoutes } from './dialects/py-oidc-auth.js';
import type { Environment } from './env.js';
import { AuthError, ErrorCode } from './errors.js';

/** A py-oidc-auth server. */
export interface HostServer extends PyOidcAuthRoutes {
  /**
   * The py-oidc-auth server, e.g. `"https://myapp.example.com"` (a path prefix is kept for
   * requests; the token is stored under the normalised origin).
   * @example 'https://myapp.example.com'
   */
  host: string;
  /** Not with `host`: an OpenID Provider is `{ issuer, clientId }` without `host`. */
  issuer?: never;
  /** Not with `host`: a py-oidc-auth server knows its client; `clientId` goes with `issuer`. */
  clientId?: never;
  /** Not with `host`: scopes are the py-oidc-auth server's; they go with `issuer`. */
  scopes?: never;
  /** Not with `host`: only for an OpenID Provider (`issuer`). */
  endpointOrigins?: never;
  /** Not with `host`: a service account is `{ issuer, clientId, clientSecret, grant }`. */
  clientSecret?: never;
  /** Not with `host`: only for an OpenID Provider (`issuer`). */
  tokenEndpointAuthMethod?: never;
  /** Not with `host`: only for an OpenID Provider (`issuer`). */
  clientAssertionKey?: never;
  /** Not with `host`: a service account is `{ issuer, clientId, clientSecret, grant }`. */
  grant?: never;
  /** Not with `host`: py-oidc-auth servers send no ID token. */
  verifyIdToken?: never;
  /** Not with `host`: py-oidc-auth servers take bearer tokens; DPoP needs `issuer`. */
  dpop?: never;
  /** Not with `host`: `host` already chooses the py-oidc-auth dialect. */
  dialect?: never;
}

/** A standard OpenID Provider, found by discovery. */
export interface IssuerServer extends OidcOptions {
  /** Not with `issuer`: a py-oidc-auth server is `{ host }` alone, without `issuer`/`clientId`. */
  host?: never;
  /** Not with `issuer`: routes are a py-oidc-auth server's (`host`); discovery finds these. */
  deviceRoute?: never;
  /** Not with `issuer`: routes are a py-oidc-auth server's (`host`); discovery finds these. */
  tokenRoute?: never;
  /** Not with `issuer`: routes are a py-oidc-auth server's (`host`); discovery finds these. */
  loginRoute?: never;
  /** Not with `issuer`: `issuer` already chooses the OpenID dialect. */
  dialect?: never;
}

/** A protocol dialect other than the two built in (advanced). */
export interface DialectServer {
  dialect: Dialect;
  /** Not with `dialect`: the dialect names its server. */
  host?: never;
  /** Not with `dialect`: the dialect names its server. */
  issuer?: never;
  /** Not with `dialect`: the dialect names its client. */
  clientId?: never;
}

/**
 * No server named: it comes from the environment — `OIDC_HOST` (a py-oidc-auth server), or
 * `OIDC_ISSUER` + `OIDC_CLIENT_ID` (+ `OIDC_SCOPES`, space-separated) for an OpenID Provider.
 */
export interface EnvironmentServer {
  /** A py-oidc-auth server: `{ host }` alone (see `HostServer`). */
  host?: never;
  /** An OpenID Provider: `{ issuer, clientId }` together (see `IssuerServer`). */
  issuer?: never;
  /** An OpenID Provider: `{ issuer, clientId }` together (see `IssuerServer`). */
  clientId?: never;
  /** A dialect of your own: `{ dialect }` alone (see `DialectServer`). */
  dialect?: never;
}

/**
 * Where the server is: `{ host, …routes }`, `{ issuer, clientId, scopes? }`, `{ dialect }`, or
 * nothing (the environment). Naming two at once is a compile error.
 */
export type ServerOptions = HostServer | IssuerServer | DialectServer | EnvironmentServer;

/** What an entry is told to do when it is given no server at all. */
export const noServer =
  'No server given: pass { host: "https://myapp.example.com" } for a py-oidc-auth server, or { issuer, clientId } for an OpenID Provider — or set OIDC_HOST, or OIDC_ISSUER and OIDC_CLIENT_ID (and OIDC_SCOPES).';

/** Options that only an OpenID Provider (issuer) takes. */
export const issuerOptionNames = [
  'clientId',
  'scopes',
  'endpointOrigins',
  'clientSecret',
  'tokenEndpointAuthMethod',
  'clientAssertionKey',
  'grant',
  'verifyIdToken',
] as const;

/** The server options as plain JavaScript may pass them: anything, checked here. */
type RawServer = PyOidcAuthRoutes &
  Partial<Omit<OidcOptions, 'issuer' | 'clientId'>> & {
    host?: unknown;
    issuer?: unknown;
    clientId?: unknown;
    dialect?: Dialect;
  };

function invalid(message: string): AuthError {
  return new AuthError(ErrorCode.INVALID_OPTIONS, message);
}

function text(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(
      `${name} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}.`,
    );
  }
  return value;
}

/** A py-oidc-auth server: provider-only options are refused, not ignored. */
function hostDialect(host: string, raw: RawServer): Dialect {
  if (raw.dpop) {
    throw invalid(
      'dpop needs an OpenID Provider (issuer + clientId): py-oidc-auth servers take bearer tokens.',
    );
  }
  // From plain JavaScript these would be ignored without a word (the types forbid them).
  const providerOnly = issuerOptionNames.find(
    (name) => (raw as Record<string, unknown>)[name] !== undefined,
  );
  if (providerOnly) {
    throw invalid(
      `${providerOnly} goes with an OpenID Provider (issuer + clientId); a py-oidc-auth server (host) chooses its own${providerOnly === 'scopes' ? ' scopes' : ' client'}. Leave ${providerOnly} out, or pass issuer and clientId instead of host.`,
    );
  }
  return new PyOidcAuthDialect(host, raw);
}

/** An OpenID Provider: py-oidc-auth routes are refused, not ignored. */
function issuerDialect(issuer: string, raw: RawServer): Dialect {
  const routes = (['deviceRoute', 'tokenRoute', 'loginRoute'] as const).find(
    (name) => raw[name] !== undefined,
  );
  if (routes) {
    throw invalid(
      `${routes} goes with a py-oidc-auth server (host); an OpenID Provider's endpoints come from its discovery document. Leave ${routes} out.`,
    );
  }
  const given = (name: keyof RawServer) => (raw[name] !== undefined ? { [name]: raw[name] } : {});
  return new OidcDialect({
    issuer,
    clientId: text('clientId', raw.clientId) ?? '',
    ...given('scopes'),
    ...(raw.endpointOrigins ? { endpointOrigins: raw.endpointOrigins } : {}),
    ...given('clientSecret'),
    ...given('tokenEndpointAuthMethod'),
    ...given('clientAssertionKey'),
    ...given('grant'),
    ...given('verifyIdToken'),
    ...given('dpop'),
  });
}

/** The server from the environment: `OIDC_HOST`, or `OIDC_ISSUER` + `OIDC_CLIENT_ID`. */
function environmentDialect(env: Environment): Dialect {
  if (env.OIDC_HOST?.trim()) return new PyOidcAuthDialect(env.OIDC_HOST);
  if (env.OIDC_ISSUER?.trim()) {
    if (!env.OIDC_CLIENT_ID?.trim()) {
      throw invalid(
        'OIDC_ISSUER is set but OIDC_CLIENT_ID is not: set the client id registered at the provider.',
      );
    }
    return new OidcDialect({
      issuer: env.OIDC_ISSUER,
      clientId: env.OIDC_CLIENT_ID,
      ...(env.OIDC_SCOPES?.trim() ? { scopes: env.OIDC_SCOPES } : {}),
    });
  }
  throw invalid(noServer);
}

/** The dialect: from the options, else from the environment. Explicit options win. */
export function dialectOf(options: ServerOptions & { env?: Environment | undefined }): Dialect {
  const raw = options as RawServer;
  if (raw.dialect !== undefined) {
    if (typeof raw.dialect !== 'object' || raw.dialect === null)
      throw invalid('dialect must be a Dialect object.');
    return raw.dialect;
  }
  const host = text('host', raw.host);
  const issuer = text('issuer', raw.issuer);
  if (host !== undefined && issuer !== undefined) {
    throw invalid('pass either host (py-oidc-auth) or issuer (OpenID Provider), not both.');
  }
  if (host !== undefined) return hostDialect(host, raw);
  if (issuer !== undefined) return issuerDialect(issuer, raw);
  if (raw.clientId !== undefined)
    throw invalid('clientId needs issuer: the OpenID Provider it is registered with.');
  if (options.env === undefined && base.environmentless) throw invalid(base.environmentless);
  return environmentDialect(options.env ?? base.env());
}
