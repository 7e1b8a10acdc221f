import { AuthError, ErrorCode } from './errors.js';

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1: names that never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/** https, or http to a loopback host: the only URLs a token, a code or a login may travel over. */
export function isSecureUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * `new URL(url, base)`, or undefined where it does not parse: `URL.canParse` is newer than the
 * browsers supported (Chrome 120, Safari 17, Firefox 115).
 */
export function parseUrl(url: string, base?: string): URL | undefined {
  try {
    return new URL(url, base);
  } catch {
    return undefined;
  }
}

/** Throws `OIDC_INVALID_OPTIONS` unless `url` is secure or plain http was allowed. */
export function requireSecure(url: string, what: string, allowInsecureHttp: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, `${what} "${printable(url)}" is not a URL.`);
  }
  if (isSecureUrl(parsed) || (allowInsecureHttp && parsed.protocol === 'http:')) return;
  throw new AuthError(
    ErrorCode.INVALID_OPTIONS,
    `${what} ${parsed.origin} is not https: tokens would travel in clear text. Use https, or pass allowInsecureHttp: true for a server you trust on a private network.`,
    { detail: { insecureUrl: parsed.origin, hostname: parsed.hostname } },
  );
}

/**
 * Text from a server made safe for a terminal: control characters (escape sequences, carriage
 * returns, bell) are removed.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}
