import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerDevice, answerUserinfo } from './answers.js';
import type { Family, GrantBinding, GrantResult, GrantUse, MintAccess, OAuthError } from './idp.js';
import { checkProof } from './jwt.js';
import { type OpenIdRoute, openIdPaths } from './openid-paths.js';
import { json, readForm, send } from './respond.js';
import type { MockState } from './state.js';

// The mock's standard OpenID Provider: discovery, a key set, device and code (PKCE) logins,
// refresh with rotation, client credentials, revocation, end session and DPoP, on the same
// server and the same token families as the py-oidc-auth routes. Its issuer is the server's URL.

function metadata(base: string) {
  const at = (route: OpenIdRoute) => `${base}${openIdPaths[route]}`;
  return {
    issuer: base,
    authorization_endpoint: at('authorize'),
    token_endpoint: at('oauth-token'),
    device_authorization_endpoint: at('device-authorization'),
    userinfo_endpoint: at('oauth-userinfo'),
    revocation_endpoint: at('revocation'),
    end_session_endpoint: at('end-session'),
    jwks_uri: at('jwks'),
    response_types_supported: ['code'],
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    dpop_signing_alg_values_supported: ['ES256'],
    authorization_response_iss_parameter_supported: true,
  };
}

function oauthError(
  res: ServerResponse,
  error: OAuthError,
  status = 400,
  headers: Record<string, string> = {},
): void {
  json(res, status, error, { 'cache-control': 'no-store', ...headers });
}

function refuse(error: string, description: string): OAuthError {
  return { error, error_description: description };
}

/** `client_secret_basic` credentials: each part form-encoded (RFC 6749 §2.3.1). */
function basic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic +(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const part = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
  try {
    return { id: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * Who calls the token endpoint: the client named (and its secret checked) when `clients` lists
 * clients; any client id otherwise. Confidential means it proved a secret.
 */
function authenticate(
  state: MockState,
  req: IncomingMessage,
  form: URLSearchParams,
): { clientId: string; confidential: boolean } | OAuthError {
  const credentials = basic(req.headers.authorization);
  const clientId = credentials?.id ?? form.get('client_id') ?? '';
  const secret = credentials?.secret ?? form.get('client_secret') ?? undefined;
  if (clientId === '') return refuse('invalid_client', 'No client_id');
  const clients = state.clients;
  if (clients === undefined) return { clientId, confidential: secret !== undefined };
  const known = clients.find((c) => c.clientId === clientId);
  if (!known) return refuse('invalid_client', 'Unknown client');
  if (known.clientSecret === undefined) return { clientId, confidential: false };
  if (secret !== known.clientSecret)
    return refuse('invalid_client', 'Client authentication failed');
  return { clientId, confidential: true };
}

/** A form request's fields and its client (or why the client is refused). */
async function authenticated(state: MockState, req: IncomingMessage) {
  const form = await readForm(req);
  return { form, client: authenticate(state, req, form) };
}

/** The DPoP key a token request proves (its thumbprint), none, or the error to answer. */
function tokenProof(
  state: MockState,
  req: IncomingMessage,
): { jkt?: string } | { refused: OAuthError; nonce?: boolean } {
  const proof = req.headers.dpop;
  if (typeof proof !== 'string') return {};
  const nonce = state.settings.current.dpopNonce ? state.dpopNonce : undefined;
  const checked = checkProof(
    proof,
    {
      method: 'POST',
      url: `${state.baseUrl}${openIdPaths['oauth-token']}`,
      nonce,
      now: state.clock(),
    },
    state.proofsSeen,
  );
  if ('jkt' in checked) return checked;
  if (checked.error === 'nonce') {
    return { refused: refuse('use_dpop_nonce', 'Use the DPoP nonce'), nonce: true };
  }
  return { refused: refuse('invalid_dpop_proof', checked.error) };
}

function idToken(state: MockState, family: Family, binding: GrantBinding): string {
  const now = Math.floor(state.clock() / 1000);
  return state.key.sign({
    iss: state.baseUrl,
    sub: family.subject,
    aud: family.clientId,
    iat: now,
    exp: now + state.settings.current.accessTtl,
    auth_time: family.authTime,
    sid: `login-${family.id}`,
    preferred_username: family.subject,
    email: `${family.subject}@example.org`,
    ...(binding.nonce === undefined ? {} : { nonce: binding.nonce }),
  });
}

/** Access tokens of the standard provider: JWTs (RFC 9068), DPoP-bound ones with `cnf.jkt`. */
function minter(state: MockState): MintAccess {
  return (family, expiresAt) =>
    state.key.sign(
      {
        iss: state.baseUrl,
        sub: family.subject,
        aud: state.baseUrl,
        client_id: family.clientId,
        scope: family.scope,
        iat: Math.floor(state.clock() / 1000),
        exp: Math.floor(expiresAt / 1000),
        jti: `${family.id}-${state.clock()}-${Math.random().toString(36).slice(2)}`,
        ...(family.jkt === undefined ? {} : { cnf: { jkt: family.jkt } }),
      },
      'at+jwt',
    );
}

function answer(state: MockState, res: ServerResponse, result: GrantResult): void {
  if (!result.ok) return oauthError(res, result.error);
  const { token, family, binding } = result;
  const body: Record<string, unknown> = {
    access_token: token.access_token,
    token_type: family.jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: Math.max(0, token.expires - Math.floor(state.clock() / 1000)),
    scope: token.scope,
  };
  if (token.refresh_token !== undefined) body.refresh_token = token.refresh_token;
  const person = family.clientId !== undefined && family.subject !== family.clientId;
  if (person && token.scope.split(' ').includes('openid')) {
    body.id_token = idToken(state, family, binding);
  }
  json(res, 200, body, { 'cache-control': 'no-store' });
}

const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';

const countedAs: Record<string, keyof MockState['stats']['grants']> = {
  [deviceGrant]: 'device_code',
  refresh_token: 'refresh_token',
  authorization_code: 'authorization_code',
  client_credentials: 'client_credentials',
};

async function token(state: MockState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req);
  const grant = form.get('grant_type') ?? '';
  const proof = tokenProof(state, req);
  if ('refused' in proof && proof.nonce) {
    // Not a grant attempt yet: the client is told the nonce and sends the request again.
    return oauthError(res, proof.refused, 400, { 'dpop-nonce': state.dpopNonce });
  }
  const counted = countedAs[grant];
  // Every other call counts, refused ones included, as on the py-oidc-auth route.
  if (counted) state.stats.grants[counted]++;
  if ('refused' in proof) return oauthError(res, proof.refused);
  const client = authenticate(state, req, form);
  if ('error' in client) {
    return oauthError(res, client, 401, { 'www-authenticate': 'Basic realm="token"' });
  }
  const use: GrantUse = { clientId: client.clientId, jkt: proof.jkt };
  const mint = minter(state);
  switch (grant) {
    case deviceGrant:
      return answer(state, res, state.idp.pollDevice(form.get('device_code') ?? '', use, mint));
    case 'refresh_token':
      return answer(state, res, state.idp.refreshGrant(form.get('refresh_token') ?? '', use, mint));
    case 'authorization_code': {
      const code = form.get('code') ?? '';
      const verifier = form.get('code_verifier') ?? '';
      const redirectUri = form.get('redirect_uri') ?? '';
      return answer(state, res, state.idp.exchangeCode(code, redirectUri, verifier, use, mint));
    }
    case 'client_credentials': {
      if (!client.confidential) {
        return oauthError(res, refuse('unauthorized_client', 'client_credentials needs a secret'));
      }
      const binding = { clientId: client.clientId, jkt: proof.jkt, scope: form.get('scope') ?? '' };
      const result = state.idp.granted(binding, mint, true, client.clientId);
      return answer(state, res, result);
    }
    default:
      return oauthError(res, refuse('unsupported_grant_type', `grant_type ${grant || '(none)'}`));
  }
}

async function deviceAuthorization(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { form, client } = await authenticated(state, req);
  if ('error' in client) return oauthError(res, client, 401);
  const scope = form.get('scope') ?? undefined;
  answerDevice(state, res, state.idp.startDevice({ clientId: client.clientId, scope }), true);
}

/**
 * The authorization endpoint: the mock's user is logged in and consents at once, so the browser
 * goes straight back to the client with a code (and `iss`, RFC 9207). PKCE (S256) is required.
 */
function authorize(state: MockState, url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const clientId = q.get('client_id') ?? '';
  const redirectUri = q.get('redirect_uri') ?? '';
  const known = state.clients?.find((c) => c.clientId === clientId);
  if (clientId === '' || (state.clients !== undefined && !known)) {
    return json(res, 400, refuse('invalid_client', 'Unknown client_id'));
  }
  let target: URL;
  try {
    target = new URL(redirectUri);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('scheme');
  } catch {
    return json(res, 400, refuse('invalid_request', 'redirect_uri must be an http(s) URL'));
  }
  if (known?.redirectUris && !known.redirectUris.includes(redirectUri)) {
    return json(res, 400, refuse('invalid_request', 'redirect_uri is not registered'));
  }
  const back = (params: Record<string, string>) => {
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    const given = q.get('state');
    if (given !== null) target.searchParams.set('state', given);
    target.searchParams.set('iss', state.baseUrl);
    send(res, 302, '', { location: target.href });
  };
  const challenge = q.get('code_challenge');
  if (q.get('response_type') !== 'code') {
    return back({ error: 'unsupported_response_type', error_description: 'Only code' });
  }
  if (!challenge || q.get('code_challenge_method') !== 'S256') {
    return back({ error: 'invalid_request', error_description: 'PKCE with S256 is required' });
  }
  const binding: GrantBinding = { clientId, scope: q.get('scope') ?? undefined };
  const nonce = q.get('nonce');
  if (nonce !== null) binding.nonce = nonce;
  const jkt = q.get('dpop_jkt');
  if (jkt !== null) binding.jkt = jkt;
  back({ code: state.idp.startCode(redirectUri, challenge, binding) });
}

/**
 * The subject and scopes of the request's access token — a bearer token, or a DPoP-bound one
 * with its proof — or undefined after answering 401 as RFC 6750 and RFC 9449 say.
 */
export function resourceClaims(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): { subject: string; scope: string } | undefined {
  const header = req.headers.authorization;
  const match = /^(Bearer|DPoP) +(\S+)$/i.exec(header ?? '');
  const challenge = (error?: string) => {
    const scheme = /^DPoP /i.test(header ?? '') ? 'DPoP algs="ES256"' : 'Bearer';
    const value = error === undefined ? scheme : `${scheme} error="${error}"`;
    const detail = error === undefined ? 'Not authenticated' : 'Invalid token';
    json(res, 401, { detail }, { 'www-authenticate': value });
    return undefined;
  };
  if (!match?.[1] || !match[2]) return challenge();
  const claims = state.idp.validate(match[2]);
  if (!claims) return challenge('invalid_token');
  const dpopScheme = match[1].toLowerCase() === 'dpop';
  if (claims.jkt === undefined) return dpopScheme ? challenge('invalid_token') : claims;
  const proof = req.headers.dpop;
  if (!dpopScheme || typeof proof !== 'string') return challenge('invalid_token');
  const checked = checkProof(
    proof,
    { method: req.method ?? 'GET', url: url.href, accessToken: match[2], now: state.clock() },
    state.proofsSeen,
  );
  if (!('jkt' in checked) || checked.jkt !== claims.jkt) return challenge('invalid_dpop_proof');
  return claims;
}

async function revocation(
  state: MockState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { form, client } = await authenticated(state, req);
  if ('error' in client) return oauthError(res, client, 401);
  const revoked = state.idp.revokeToken(form.get('token') ?? '', client.clientId);
  if (revoked) state.stats.revoked++;
  // RFC 7009 §2.2: 200 whether or not the token was known.
  send(res, 200, '');
}

function endSession(state: MockState, url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const hint = q.get('id_token_hint');
  if (hint) state.idp.endLogin(hint, state.key);
  const after = q.get('post_logout_redirect_uri');
  if (!after) {
    return send(res, 200, '<!doctype html><title>Logged out</title><h1>Logged out</h1>', {
      'content-type': 'text/html; charset=utf-8',
    });
  }
  const target = new URL(after);
  const given = q.get('state');
  if (given !== null) target.searchParams.set('state', given);
  send(res, 302, '', { location: target.href });
}

/** Answers one request to the standard provider's routes. */
export async function handleOpenId(
  state: MockState,
  route: OpenIdRoute,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  switch (route) {
    case 'discovery':
      return json(res, 200, metadata(state.baseUrl));
    case 'jwks':
      return json(res, 200, state.key.jwks());
    case 'authorize':
      return authorize(state, url, res);
    case 'oauth-token':
      return token(state, req, res);
    case 'device-authorization':
      return deviceAuthorization(state, req, res);
    case 'oauth-userinfo': {
      const claims = resourceClaims(state, req, res, url);
      if (!claims) return;
      return answerUserinfo(res, claims, false);
    }
    case 'revocation':
      return revocation(state, req, res);
    case 'end-session':
      return endSession(state, url, res);
  }
}
