import { normalizeIssuer } from '../host.js';
import type { Token } from '../token.js';

/**
 * Who a session's tokens belong to, as far as the library can tell before anyone logs in: the
 * server, the client, the grant, what was asked for, and the kind of token. Two managers of
 * different identities never use, refresh or overwrite each other's entry in a shared store:
 * the identity is the entry's key ({@link SessionIdentity.key}) and is recorded in the entry.
 *
 * A py-oidc-auth server has one client and one kind of token, so its identity is its host and
 * its key the normalised host, exactly as py-oidc-auth-client keys the token file.
 */
export interface SessionIdentity {
  /** The key of the session's entry in a token store. */
  readonly key: string;
  /** The py-oidc-auth server (normalised host) or the OpenID Provider's issuer. */
  readonly server: string;
  /** The client id (OpenID Providers); undefined for a py-oidc-auth server. */
  readonly clientId?: string;
  /** `login`: a person's session; `client_credentials`: a service account's. */
  readonly grant: 'login' | 'client_credentials';
  /** The scopes asked for, sorted, space-separated; undefined when none were asked for. */
  readonly scope?: string;
  /** DPoP-bound tokens (RFC 9449) rather than bearer tokens. */
  readonly dpop: boolean;
}

/** What a {@link SessionIdentity} is made of. */
export interface IdentityParts {
  server: string;
  clientId?: string | undefined;
  grant?: SessionIdentity['grant'] | undefined;
  scope?: string | undefined;
  dpop?: boolean | undefined;
}

/** Scopes asked for in any order or spacing are the same request: sorted, unique. */
function canonicalScope(scope: string | undefined): string | undefined {
  const list = [...new Set((scope ?? '').split(/\s+/).filter(Boolean))].sort();
  return list.length > 0 ? list.join(' ') : undefined;
}

/**
 * The identity of a session, with its store key. Without a client id (a py-oidc-auth server)
 * the key is the server itself; else the server followed by `#` and the identity's parts in a
 * fixed order (`client_id`, `grant`, `scope`, `dpop`), URL-encoded:
 * `https://id.example.org/realms/x#client_id=cli&scope=offline_access+openid`.
 *
 * @example sessionIdentity({ server: 'https://id.example.org', clientId: 'cli' }).key
 * // 'https://id.example.org#client_id=cli'
 */
export function sessionIdentity(parts: IdentityParts): SessionIdentity {
  const grant = parts.grant ?? 'login';
  const scope = canonicalScope(parts.scope);
  const dpop = parts.dpop === true;
  if (parts.clientId === undefined) {
    return { key: parts.server, server: parts.server, grant, dpop };
  }
  const query = new URLSearchParams({ client_id: parts.clientId });
  if (grant !== 'login') query.set('grant', grant);
  if (scope) query.set('scope', scope);
  if (dpop) query.set('dpop', 'true');
  return {
    key: `${parts.server}#${query}`,
    server: parts.server,
    clientId: parts.clientId,
    grant,
    ...(scope ? { scope } : {}),
    dpop,
  };
}

/**
 * The identity a store key names (for listing a store): a key with `#` is read back into its
 * parts; any other key is a server of its own (a py-oidc-auth host, or an entry written before
 * identities existed).
 */
export function parseSessionKey(key: string): SessionIdentity {
  const hash = key.indexOf('#');
  if (hash < 0) return { key, server: key, grant: 'login', dpop: false };
  const server = key.slice(0, hash);
  const query = new URLSearchParams(key.slice(hash + 1));
  const grant = query.get('grant') === 'client_credentials' ? 'client_credentials' : 'login';
  const scope = query.get('scope') ?? undefined;
  const clientId = query.get('client_id') ?? undefined;
  return {
    key,
    server,
    ...(clientId !== undefined ? { clientId } : {}),
    grant,
    ...(scope ? { scope } : {}),
    dpop: query.get('dpop') === 'true',
  };
}

/**
 * The key of a host's entry: for a plain host or issuer, lower-case scheme and host name,
 * default port dropped, no trailing slash (an issuer's path is kept), as py-oidc-auth-client
 * writes it; for a session key (`…#client_id=…`) the server part is normalised so and the
 * identity after `#` kept exactly (client ids are case-sensitive).
 */
export function storeKey(host: string): string {
  const hash = host.indexOf('#');
  const server = hash < 0 ? host : host.slice(0, hash);
  let normal: string;
  try {
    normal = normalizeIssuer(server);
  } catch {
    return host;
  }
  return hash < 0 ? normal : `${normal}${host.slice(hash)}`;
}

/** What {@link identityOf} reads of a dialect (structurally: stores sit below the dialects). */
export interface IdentitySource {
  readonly identity?: SessionIdentity | undefined;
  readonly storeKey: string;
  readonly serviceGrant?: unknown;
  readonly dpop?: boolean | undefined;
}

/** A dialect's session identity: the one it names, else its server alone. */
export function identityOf(dialect: IdentitySource): SessionIdentity {
  return (
    dialect.identity ??
    sessionIdentity({
      server: dialect.storeKey,
      grant: dialect.serviceGrant ? 'client_credentials' : 'login',
      dpop: dialect.dpop,
    })
  );
}

/**
 * A token as a store keeps it: with the identity it belongs to when that names a client (an
 * OpenID Provider's); a py-oidc-auth entry stays exactly as py-oidc-auth-client writes it.
 */
export function recordIdentity(token: Token, identity: SessionIdentity): Token {
  return identity.clientId === undefined ? token : { ...token, identity: identity.key };
}
