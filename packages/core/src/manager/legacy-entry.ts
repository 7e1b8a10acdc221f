import { isDpopType } from '../dpop.js';
import type { SessionIdentity } from '../store/identity.js';
import { type Token, unverifiedClaims } from '../token.js';
import { printable } from '../urls.js';

/**
 * Whether a token stored under the plain server key — as versions before sessions stored an
 * OpenID Provider's login, with no identity — shows that it belongs to `identity`. Its JWTs
 * are read, not verified: the entry is the user's own, and what is checked is which client it
 * was issued to, not whether it is genuine (that is the provider's job on every use).
 *
 * Ours when every client a JWT in it names (the ID token's `azp`, else its `aud`; the access
 * token's `client_id`, `azp` or `cid`) is this client, at least one does, the kind of token
 * (DPoP or bearer) fits, and the scopes it was granted cover the ones asked for (`offline_access`
 * aside: providers seldom echo it), and it holds an ID token or the login's `sub` (a
 * py-oidc-auth login under the same key never does). A service account is never adopted: it gets
 * a new token of its own without anyone's help. Returns `true`, or why not (for the message).
 */
export function legacyVerdict(token: Token, identity: SessionIdentity): true | string {
  if (identity.grant !== 'login') return 'a service account fetches a token of its own';
  // A session's kind is part of its identity: the standard dialect kept the login's ID token
  // (or its verified `sub`) with the token; a py-oidc-auth server's login, under the same plain
  // key, never has either.
  if (!token.id_token && !token.sub) {
    return "it holds no ID token, as a py-oidc-auth server's login does (another kind of session)";
  }
  const dpop = token.dpop_key !== undefined || isDpopType(token.token_type);
  if (dpop !== identity.dpop) return `it holds a ${dpop ? 'DPoP-bound' : 'bearer'} token`;
  const named = namedClients(token);
  const client = identity.clientId ?? '';
  if (named.length === 0) return 'nothing in it names the client it was issued to';
  const others = named.filter((each) => !each.includes(client));
  if (others.length > 0) {
    const shown = [...new Set(others.flat())].map((id) => printable(id).slice(0, 80));
    return `it was issued to ${shown.join(', ')}`;
  }
  const granted = new Set(token.scope.split(/\s+/).filter(Boolean));
  const missing = (identity.scope ?? '')
    .split(' ')
    .filter((scope) => scope && scope !== 'offline_access' && !granted.has(scope));
  if (granted.size > 0 && missing.length > 0) {
    return `it was not granted ${missing.map((s) => printable(s).slice(0, 40)).join(' ')}`;
  }
  return true;
}

/** The clients each JWT of a token names: one list per JWT that names any. */
function namedClients(token: Token): string[][] {
  const lists: string[][] = [];
  const id = token.id_token ? unverifiedClaims(token.id_token) : undefined;
  const fromId = typeof id?.azp === 'string' ? [id.azp] : strings(id?.aud);
  if (fromId.length > 0) lists.push(fromId);
  const access = unverifiedClaims(token.access_token);
  const fromAccess = [access?.client_id, access?.azp, access?.cid].find(
    (value) => typeof value === 'string',
  );
  if (typeof fromAccess === 'string') lists.push([fromAccess]);
  return lists;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((each) => typeof each === 'string') : [];
}
