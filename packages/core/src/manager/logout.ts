import { serverError } from '../dialects/protocol.js';
import { AuthError, ErrorCode } from '../errors.js';
import type { HttpAnswer } from '../http.js';
import { send } from '../http.js';
import type { Client } from '../options.js';
import type { Token } from '../token.js';
import { isSecureUrl, parseUrl } from '../urls.js';

/** Options of `TokenManager.logout()`. */
export interface LogoutOptions {
  /** Revoke the tokens at the server first (RFC 7009), where it can. @default true */
  revoke?: boolean;
  signal?: AbortSignal;
  /**
   * Also end the user's session at the provider (OpenID Connect RP-Initiated Logout): the browser
   * is sent to its `end_session_endpoint` with the ID token as `id_token_hint` (a py-oidc-auth
   * server: its `/auth/v2/logout`). `postLogoutRedirectUri` (registered with the provider) must be
   * on the page's origin; `navigate` defaults to `location.assign` in a browser, and to nothing
   * elsewhere (use `endSessionUrl` of the result).
   */
  endSession?: boolean | { postLogoutRedirectUri?: string; navigate?: (url: string) => void };
}

/**
 * What the server did with the tokens: `revoked` (refresh token, then access token), `none`
 * (nothing to revoke), `not-supported` (a py-oidc-auth server, or a provider without a
 * `revocation_endpoint`: the tokens stay valid there until they expire), `failed` (`error`
 * says why), `skipped` (`revoke: false`).
 */
export type Revocation = 'revoked' | 'none' | 'not-supported' | 'failed' | 'skipped';

/** What `logout()` did. The local logout always happens; `revocation` says what the server did. */
export interface LogoutResult {
  /** Whether the store held an entry for this session (now removed). */
  removed: boolean;
  revocation: Revocation;
  /** Why the revocation failed (typed, secrets redacted). */
  error?: AuthError;
  /** With `endSession`: where the browser was sent (undefined: the provider has no such page). */
  endSessionUrl?: string;
}

/**
 * `postLogoutRedirectUri` checked before anything is done: a URL of the page's origin (`page`,
 * in a browser), else https (or http on loopback); anything else is refused typed.
 */
export function checkPostLogoutRedirect(
  given: string | undefined,
  page: string | undefined,
  allowInsecureHttp: boolean,
): void {
  if (given === undefined) return;
  const url = typeof given === 'string' ? parseUrl(given) : undefined;
  const ours = page !== undefined && url?.origin === new URL(page).origin;
  const secure = url && (isSecureUrl(url) || (allowInsecureHttp && url.protocol === 'http:'));
  if (url && (page !== undefined ? ours : secure)) return;
  throw new AuthError(
    ErrorCode.INVALID_OPTIONS,
    `postLogoutRedirectUri must be an absolute URL of ${page ? new URL(page).origin : 'this app (https, or http on loopback)'}, registered with the provider; got ${JSON.stringify(String(given)).slice(0, 100)}.`,
  );
}

/** The tokens to revoke, refresh tokens first (revoking one may revoke its access tokens too). */
export function tokensToRevoke(
  tokens: ReadonlyArray<Token | undefined>,
): Array<{ token: string; hint: 'refresh_token' | 'access_token' }> {
  const refresh = new Set<string>();
  const access = new Set<string>();
  for (const token of tokens) {
    if (token?.refresh_token) refresh.add(token.refresh_token);
    if (token?.access_token) access.add(token.access_token);
  }
  return [
    ...[...refresh].map((token) => ({ token, hint: 'refresh_token' as const })),
    ...[...access].map((token) => ({ token, hint: 'access_token' as const })),
  ];
}

/**
 * Revokes each token at the server (RFC 7009): 200 is success (also for a token the server
 * no longer knows, §2.2); `unsupported_token_type` for an access token is no failure (many
 * providers revoke only refresh tokens, and the access token then expires by itself).
 */
export async function revokeAll(
  client: Client,
  tokens: ReadonlyArray<Token | undefined>,
  signal: AbortSignal | undefined,
): Promise<Pick<LogoutResult, 'revocation' | 'error'>> {
  const wanted = tokensToRevoke(tokens);
  if (wanted.length === 0) return { revocation: 'none' };
  const { dialect, http } = client;
  try {
    const metadata = await client.metadata(signal);
    for (const { token, hint } of wanted) {
      const request = dialect.revocationRequest(token, hint, metadata);
      if (!request) return { revocation: 'not-supported' };
      await send(http, request, (answer) => checkRevocation(answer, hint), { signal });
    }
    return { revocation: 'revoked' };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const typed =
      error instanceof AuthError
        ? error
        : new AuthError(ErrorCode.SERVER_ERROR, 'The revocation request failed.', { cause: error });
    return { revocation: 'failed', error: typed };
  }
}

function checkRevocation(answer: HttpAnswer, hint: string): void {
  if (answer.status === 200) return;
  const code = (answer.json as { error?: unknown } | undefined)?.error;
  if (hint === 'access_token' && code === 'unsupported_token_type') return;
  throw serverError('revocation', answer);
}
