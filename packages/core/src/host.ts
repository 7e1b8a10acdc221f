import { AuthError, ErrorCode } from './errors.js';

/**
 * Normalises a host the way py-oidc-auth-client keys its token file: lower-case scheme and host
 * name, default ports (80 for http, 443 for https) dropped, no path, no trailing slash.
 * A bare host name gets `https://`.
 *
 * @example normalizeHost('HTTPS://Example.org:443/api/') // 'https://example.org'
 */
export function normalizeHost(host: string): string {
  const text = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `"${host}" is not a valid host URL; pass something like "https://auth.example.org".`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `"${host}" must be an http(s) URL, like "https://auth.example.org".`,
    );
  }
  // URL already lower-cases scheme and host and drops default ports.
  return `${url.protocol}//${url.host}`;
}

/**
 * The base URL requests go to: the host as given, without a trailing slash, keeping any path
 * prefix (a server mounted under `/prefix`).
 */
export function baseUrl(host: string): string {
  const text = host.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  const url = new URL(withScheme);
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

/** The normalised issuer: lower-case scheme and host, default port dropped, no trailing slash. */
export function normalizeIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer.trim());
  } catch {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `issuer "${issuer}" is not a URL; pass the provider's issuer, e.g. "https://id.example.org/realms/x".`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, `issuer "${issuer}" must be an http(s) URL.`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
