import { normalizeHost, normalizeIssuer } from '../host.js';
import { storeKey } from '../store/identity.js';
import { evictWithinSeconds, type StoredToken, storedEntry } from '../store/store.js';
import { parseStoredToken } from '../token.js';

/**
 * The token file's layout, shared with py-oidc-auth-client: one JSON object of entries
 * `{ "<key>": { "token": {…}, "stored_at": <unix seconds> } }`, keyed as {@link fileKey} says,
 * with the Python client's eviction rule.
 */
export type RawFile = Record<string, unknown>;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The entry a token file keeps `host` under. A session key (`<issuer>#client_id=…`, an OpenID
 * Provider's login) is kept as it is, its server part normalised. py-oidc-auth-client keys
 * every server by scheme, host and port only, so `https://Host/api/v1/` is `https://host`; a
 * plain key with a path stays as it is only when the file already holds it (an entry an
 * earlier version of this library wrote under an issuer).
 */
export function fileKey(host: string, raw: RawFile): string {
  if (host.includes('#')) return storeKey(host);
  let key: string;
  try {
    key = normalizeIssuer(host);
  } catch {
    // A bare host name (`myapp.example.com`) is an https server, as the manager keys it.
    try {
      return normalizeHost(host);
    } catch {
      return host;
    }
  }
  if (new URL(key).pathname === '/' || key in raw) return key;
  return normalizeHost(key);
}

function num(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/** An entry as the store hands it out: checked, or undefined when unusable or evicted. */
export function usableEntry(entry: unknown, nowSeconds: number): StoredToken | undefined {
  if (!isObject(entry)) return undefined;
  const token = parseStoredToken(entry.token);
  return token && storedEntry(token, entry.stored_at, nowSeconds);
}

/**
 * Drops the entries py-oidc-auth-client drops: those whose longest-lived expiry
 * (`max(refresh_expires, expires)`, a missing one counting as 0) is within 30 s — entries with
 * no token included.
 */
export function dropEvicted(raw: RawFile, nowSeconds: number): RawFile {
  for (const [host, entry] of Object.entries(raw)) {
    const token = isObject(entry) && isObject(entry.token) ? entry.token : {};
    const longest = Math.max(num(token.refresh_expires), num(token.expires));
    if (longest - nowSeconds <= evictWithinSeconds) delete raw[host];
  }
  return raw;
}
