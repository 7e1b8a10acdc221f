import { inspectCustom } from './env.js';

/**
 * The stable codes of {@link AuthError}. Compare `error.code` against these, never the message.
 */
export const ErrorCode = {
  /** No usable token and no way to log in here: the message names the command to run. */
  LOGIN_REQUIRED: 'OIDC_LOGIN_REQUIRED',
  /** The auth server kept failing (network, 5xx, 429) until the retry budget was spent. */
  SERVER_UNAVAILABLE: 'OIDC_SERVER_UNAVAILABLE',
  /** The server refused the refresh token (expired, revoked, rotated out). */
  REFRESH_REJECTED: 'OIDC_REFRESH_REJECTED',
  /** The user denied the device login. */
  ACCESS_DENIED: 'OIDC_ACCESS_DENIED',
  /** The device code expired before the user approved it. */
  DEVICE_CODE_EXPIRED: 'OIDC_DEVICE_CODE_EXPIRED',
  /** The server cannot do the device flow (route missing, or its IdP has no device endpoint). */
  DEVICE_FLOW_UNSUPPORTED: 'OIDC_DEVICE_FLOW_UNSUPPORTED',
  /** A login or request took longer than the caller allowed. */
  TIMEOUT: 'OIDC_TIMEOUT',
  /** The server answered something that is not a valid protocol answer. */
  BAD_RESPONSE: 'OIDC_BAD_RESPONSE',
  /** The server refused a request for a reason that retrying will not fix. */
  SERVER_ERROR: 'OIDC_SERVER_ERROR',
  /** The token store could not be read or written. */
  STORE_ERROR: 'OIDC_STORE_ERROR',
  /**
   * A store refused a write (or a read) under its lock because the lock was lost meanwhile: the
   * holder was paused or cut off past its lease and another process may have taken over. The
   * manager handles it by itself (it retries under a fresh lock); a store raises it.
   */
  LOCK_LOST: 'OIDC_LOCK_LOST',
  /** The options passed to a constructor or function are wrong. */
  INVALID_OPTIONS: 'OIDC_INVALID_OPTIONS',
  /** The manager was closed while the call waited. */
  CLOSED: 'OIDC_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AuthErrorOptions {
  /** HTTP status of the answer that caused this error, when there was one. */
  status?: number | undefined;
  /** The server's parsed error detail (`detail` text, or the RFC 6749 `error` object). */
  detail?: unknown;
  /** The underlying error. */
  cause?: unknown;
  /** Seconds the server asked us to wait (`Retry-After`), when it did. */
  retryAfter?: number | undefined;
}

/**
 * The one error class of oidc-auth. Messages say what happened and what to do next; no token,
 * refresh token, device code or PKCE verifier ever appears in the message, `detail`, `toJSON()`
 * or `util.inspect()` output.
 *
 * @example
 * try {
 *   await manager.getToken();
 * } catch (error) {
 *   if (isAuthError(error) && error.code === ErrorCode.LOGIN_REQUIRED) process.exit(1);
 *   throw error;
 * }
 */
export class AuthError extends Error {
  override readonly name = 'AuthError' as const;
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly detail: unknown;
  declare readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.detail = options.detail;
    // Internal scheduling hint: kept off the enumerable surface.
    Object.defineProperty(this, 'retryAfter', { value: options.retryAfter, enumerable: false });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      detail: this.detail,
    };
  }

  [inspectCustom](): string {
    const status = this.status === undefined ? '' : ` status=${this.status}`;
    const cause =
      this.cause instanceof Error ? `\n  [cause]: ${this.cause.name}: ${this.cause.message}` : '';
    return `${this.stack ?? `${this.name}: ${this.message}`}\n  code=${this.code}${status}${cause}`;
  }
}

/** True for an {@link AuthError}, also one thrown by another copy of this package. */
export function isAuthError(value: unknown): value is AuthError {
  return (
    value instanceof AuthError ||
    (value instanceof Error &&
      value.name === 'AuthError' &&
      typeof (value as { code?: unknown }).code === 'string')
  );
}

/** Replaces every occurrence of a secret in `text`. Secrets shorter than 4 chars are ignored. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    // A server may echo a secret as it was sent: raw, URL-encoded (%21), form-encoded (+ for a
    // space), or inside a JSON string (\" and \\ escaped).
    for (const spelling of spellings(secret)) out = out.split(spelling).join('[redacted]');
  }
  return out;
}

/** The ways a secret can appear in a server's answer. */
function spellings(secret: string): Set<string> {
  const encoded = encodeURIComponent(secret);
  return new Set([
    secret,
    encoded,
    encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ]);
}
