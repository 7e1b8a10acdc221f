import { AuthError, ErrorCode } from '../errors.js';

/** Where a token may go: an origin (`"https://api.example.org"`), a RegExp tested against the origin, or a predicate on the URL. */
export type OriginRule = string | RegExp | ((url: URL) => boolean);

/** How a rule is named in a message: an origin, a pattern, or "a function". */
export function describeRule(rule: OriginRule): string {
  if (typeof rule === 'function') return 'origins a function of yours allows';
  return rule instanceof RegExp ? `origins matching ${rule}` : originOf(rule);
}

function ruleMatcher(rule: OriginRule): (url: URL) => boolean {
  if (typeof rule === 'function') return rule;
  if (rule instanceof RegExp) {
    // A copy without `g` and `y`, whose `test` would keep state (lastIndex) between calls.
    const pattern = new RegExp(rule.source, rule.flags.replace(/[gy]/g, ''));
    return (url) => pattern.test(url.origin);
  }
  if (typeof rule !== 'string') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'origins must be strings, RegExps or functions of the URL.',
    );
  }
  let origin: string;
  try {
    origin = new URL(rule).origin;
  } catch {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `origins: "${rule}" is not an origin such as "https://api.example.org".`,
    );
  }
  return (url) => url.origin === origin;
}

function originOf(rule: string): string {
  const url = new URL(rule);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : '\0';
}

function onOrigin(url: string, origin: string): boolean {
  if (!url.startsWith(origin)) return false;
  const next = url.charCodeAt(origin.length);
  // NaN: the URL is the origin itself; 47 "/", 63 "?", 35 "#".
  return Number.isNaN(next) || next === 47 || next === 63 || next === 35;
}

function toUrl(url: string | URL | undefined): URL | undefined {
  if (url instanceof URL) return url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * The origin rule of an adapter: whether a request to a URL may carry the token. Only http(s)
 * URLs, and only on the allowed origins (`rules`), decided from the URL alone.
 */
export function originRule(
  rules: readonly OriginRule[],
): (url: string | URL | undefined) => boolean {
  const matchers = rules.map(ruleMatcher);
  // The hot path: a URL string that starts with an allowed origin followed by "/", "?", "#" or
  // nothing is on that origin; anything else (other case, explicit default port…) is parsed.
  const prefixes = rules.filter((rule): rule is string => typeof rule === 'string').map(originOf);
  return (raw) => {
    if (typeof raw === 'string' && prefixes.some((prefix) => onOrigin(raw, prefix))) return true;
    const url = toUrl(raw);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return false;
    return matchers.some((match) => match(url));
  };
}
