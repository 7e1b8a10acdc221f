import { normalizeIssuer } from '../host.js';

/**
 * The key of a host's entry, as py-oidc-auth-client writes it: lower-case scheme and host name,
 * default port dropped, no trailing slash (an issuer's path is kept).
 */
export function storeKey(host: string): string {
  try {
    return normalizeIssuer(host);
  } catch {
    return host;
  }
}
