import { base } from '#platform/base';
import { services } from '#platform/services';
import { keyringId, loginKey, storedKey } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import type { Client } from '../options.js';
import type { PendingLogin, PendingLogins } from '../platform-services.js';
import type { Token } from '../token.js';
import { parseUrl, printable, requireSecure } from '../urls.js';
import { exchangeCode } from './code-flow.js';

/** Options of `TokenManager.loginByRedirect`. */
export interface RedirectLoginOptions {
  /**
   * The app's callback page, registered with the provider (or with py-oidc-auth's
   * `/auth/v2/login` as an allowed redirect URI): https, or http on localhost.
   */
  redirectUri: string;
  /**
   * Where `handleRedirect()` sends the user back to once the login is done: a path or URL of the
   * app's own origin (the callback page's); anything else — another origin, `//host`, `/\host`,
   * `javascript:`, `data:` — is refused (`OIDC_INVALID_OPTIONS`), so a value taken from the
   * page's own URL cannot send the user elsewhere.
   * @default location.href: the page that started the login
   */
  returnTo?: string;
  /**
   * Goes to the provider's login page.
   * @default location.assign(url) in a browser; on Node nothing (use the returned URL)
   */
  navigate?: (url: string) => void;
}

/** What `TokenManager.handleRedirect` returns when the URL was a login's callback. */
export interface RedirectResult {
  /** The new token (without its DPoP key). */
  token: Token;
  /**
   * Where the user was when the login started, as an absolute URL of the callback page's origin
   * (checked when the login started and again here): safe for `location.replace(returnTo)`.
   */
  returnTo: string;
}

/** How long a started redirect login may take before its callback is refused. */
const pendingLifetimeMs = 30 * 60 * 1000;

/**
 * The key a pending login is kept under, which its callback names: the `state` we made, or
 * (py-oidc-auth, whose server makes the state `<random>|<redirect_uri>|<code_verifier>`) the
 * redirect URI, the one part of its state that is ours.
 */
function pendingKey(login: Pick<PendingLogin, 'state' | 'redirectUri'>): string {
  return login.state !== undefined ? `state:${login.state}` : `redirect:${login.redirectUri}`;
}

/** The keys a callback's `state` may name a pending login by (see {@link pendingKey}). */
function callbackKeys(state: string): string[] {
  const parts = state.split('|');
  const redirectUri = parts.length >= 3 ? parts.slice(1, -1).join('|') : undefined;
  return [`state:${state}`, ...(redirectUri ? [`redirect:${redirectUri}`] : [])];
}

/**
 * `returnTo` as an absolute URL of `home`'s origin, or undefined when it leads elsewhere: other
 * origins, scheme-relative `//host` and `/\host` (which URL parsers read as a host), other
 * schemes (`javascript:`, `data:`), control characters.
 */
function sameOrigin(returnTo: unknown, home: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point.
  if (typeof returnTo !== 'string' || /[\u0000-\u001f\u007f]/.test(returnTo)) return undefined;
  const url = parseUrl(returnTo, home);
  if (!url) return undefined;
  const ours = new URL(home);
  return /^https?:$/.test(url.protocol) && url.origin === ours.origin ? url.href : undefined;
}

/**
 * Starts a login by full-page redirect: the authorization request (PKCE S256, `state`, `nonce`,
 * and `dpop_jkt` for a DPoP login) is made, what checks its callback is kept with the manager's
 * pending logins (`logins`: this tab's `sessionStorage`, or the manager's memory), and the URL
 * of the provider's page is returned.
 */
export async function startRedirectLogin(
  client: Client,
  logins: PendingLogins,
  options: RedirectLoginOptions,
  signal?: AbortSignal,
): Promise<string> {
  const { redirectUri } = options;
  if (typeof redirectUri !== 'string') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'loginByRedirect needs redirectUri: the URL of your callback page, as registered with the provider.',
    );
  }
  requireSecure(redirectUri, 'redirectUri', client.http.allowInsecureHttp);
  const given = options.returnTo ?? services.location() ?? redirectUri;
  const returnTo = sameOrigin(given, redirectUri);
  if (returnTo === undefined) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `returnTo must be a path or URL of ${new URL(redirectUri).origin} (the callback page's origin): the user is sent there after the login, so another origin, //host, /\\host, javascript: or data: is refused. Pass a path such as "/reports".`,
    );
  }
  const metadata = await client.metadata(signal);
  const key = client.dialect.dpop ? await loginKey() : undefined;
  const request = await client.dialect.authorizationRequest(
    redirectUri,
    metadata,
    key ? { dpopJkt: key.thumbprint } : {},
  );
  const pending: PendingLogin = {
    redirectUri,
    returnTo,
    ...request.pending,
    ...(key ? { dpopKey: key.jwk } : {}),
    startedAt: client.clock(),
  };
  forgetExpired(logins, pending.startedAt);
  logins.put(pendingKey(pending), pending);
  return request.url;
}

/**
 * A manager's pending logins (see `PendingLogins`), the abandoned ones of an earlier page load
 * forgotten with their keys: a tab that never came back from the provider leaves none behind.
 */
export function pendingLoginsOf(identity: string, now: number): PendingLogins {
  const logins = services.pendingLogins(identity);
  forgetExpired(logins, now);
  return logins;
}

/**
 * Forgets the logins started over 30 min before `now` — abandoned ones: the user never came
 * back — and the DPoP keys they left in the keyring (a browser's IndexedDB).
 */
export function forgetExpired(logins: PendingLogins, now: number): void {
  for (const gone of logins.purge(now - pendingLifetimeMs)) forgetLoginKey(gone);
}

function forgetLoginKey(login: PendingLogin | undefined): void {
  const id = keyringId(login?.dpopKey);
  if (id !== undefined) base.keyring?.remove(id).catch(() => undefined);
}

/** Whether a URL carries an authorization response (a code, or an error, with a state). */
export function isCallback(params: URLSearchParams): boolean {
  return (params.has('code') || params.has('error')) && params.has('state');
}

/**
 * Finishes a redirect login on the callback page: the callback must name a login this manager
 * started (`logins`, by its `state`) and is checked against it (RFC 9207 `iss`, the redirect
 * URI); the code is exchanged with its PKCE verifier (and a DPoP proof of the key it is bound
 * to), and the ID token's `nonce` is checked. Each started login can be finished once; a
 * callback that names none of this manager's logins changes nothing.
 */
export async function finishRedirectLogin(
  client: Client,
  logins: PendingLogins,
  url: string,
  signal?: AbortSignal,
): Promise<{ token: Token; returnTo: string }> {
  const { dialect, clock } = client;
  const params = new URL(url).searchParams;
  const found = callbackKeys(params.get('state') ?? '').find((each) => logins.get(each));
  const pending = found === undefined ? undefined : logins.get(found);
  forgetExpired(logins, clock());
  if (found === undefined || !pending || clock() - pending.startedAt > pendingLifetimeMs) {
    if (found !== undefined) logins.remove(found);
    forgetLoginKey(pending);
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      `This page was opened as a login callback for ${printable(dialect.storeKey)}, but its state names no login in progress here (it was finished already, started in another tab or by another session, or is over 30 min old). Start the login again.`,
    );
  }
  const metadata = await client.metadata(signal);
  const key = pending.dpopKey ? await storedKey(pending.dpopKey) : undefined;
  if (pending.dpopKey && !key) {
    throw new AuthError(
      ErrorCode.LOGIN_REQUIRED,
      'The DPoP key this login was started with is gone (site data cleared?): start the login again.',
    );
  }
  const request = await dialect.authorizationRequest(pending.redirectUri, metadata, {
    resume: pending,
  });
  let checked: { code: string; codeVerifier: string };
  try {
    checked = request.callback(params);
  } catch (error) {
    // A forged or mixed-up callback leaves the login for its real one; the provider's own
    // error (denied, failed) ends it.
    if (!(error instanceof AuthError && error.code === ErrorCode.BAD_RESPONSE)) {
      logins.remove(found);
      forgetLoginKey(pending);
    }
    throw error;
  }
  // Single use: a replayed callback finds nothing.
  logins.remove(found);
  const { code, codeVerifier } = checked;
  const token = await exchangeCode(client, metadata, {
    code,
    codeVerifier,
    redirectUri: pending.redirectUri,
    nonce: request.nonce,
    key,
    signal,
  });
  // Checked again: what a tab's storage holds may come from an older version, or be tampered
  // with; the login itself is good, so a bad value returns to the origin's root.
  const home = new URL('/', pending.redirectUri).href;
  return { token, returnTo: sameOrigin(pending.returnTo, pending.redirectUri) ?? home };
}
