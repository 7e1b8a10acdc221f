// Google, replayed. Sources: "OAuth 2.0 for TV and Limited-Input Device Applications"
// (https://developers.google.com/identity/protocols/oauth2/limited-input-device): the device
// endpoint https://oauth2.googleapis.com/device/code answers `verification_url` (not
// `verification_uri`); the client secret goes with every request; polls answer
// `authorization_pending` with HTTP 428, `slow_down` and `access_denied` with 403,
// `expired_token` with 400; a refresh answer carries no new refresh token. Its discovery document
// (https://accounts.google.com/.well-known/openid-configuration) puts the token and device
// endpoints on oauth2.googleapis.com and the keys on www.googleapis.com; ID tokens may name the
// issuer "accounts.google.com" without the scheme
// (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken).
// Google has no `offline_access` scope: ask for `openid email`.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { isPoll, isRefresh, managerFor, replay } from './transcript.js';

const issuer = 'https://accounts.google.com';
const google = replay({
  issuer,
  kid: '5aaff47c21d06e266cce395b2395b0ab7ab4da89',
  discovery: {
    issuer,
    authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    device_authorization_endpoint: 'https://oauth2.googleapis.com/device/code',
    token_endpoint: 'https://oauth2.googleapis.com/token',
    userinfo_endpoint: 'https://openidconnect.googleapis.com/v1/userinfo',
    revocation_endpoint: 'https://oauth2.googleapis.com/revoke',
    jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs',
    response_types_supported: ['code', 'token', 'id_token', 'code token', 'none'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    code_challenge_methods_supported: ['plain', 'S256'],
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ],
  },
});

const clientId = '407408718192-abc123.apps.googleusercontent.com';
const clientSecret = 'GOCSPX-secret-for-the-transcript';
const options = {
  issuer,
  clientId,
  clientSecret,
  tokenEndpointAuthMethod: 'client_secret_post' as const,
  scopes: ['openid', 'email'],
  endpointOrigins: ['https://oauth2.googleapis.com'],
};
const device = {
  device_code: '4/4-GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8',
  user_code: 'GQVQ-JKEC',
  verification_url: 'https://www.google.com/device',
  expires_in: 1800,
  interval: 5,
};
const withSecret =
  (check: (form: Record<string, string>) => boolean) => (form: Record<string, string>) =>
    check(form) && form.client_secret === clientSecret && form.client_id === clientId;

async function idToken(iss: string) {
  return google.idToken({
    iss,
    azp: clientId,
    aud: clientId,
    sub: '110169484474386276334',
    email: 'ada@gmail.com',
    email_verified: true,
    at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
  });
}

describe('Google (transcript)', () => {
  it('device login: verification_url, the secret in every form, 428 pending, 403 slow_down; iss without a scheme', async () => {
    google.discovery();
    google.device(
      200,
      device,
      withSecret((form) => form.scope === 'openid email'),
    );
    google.token(
      428,
      { error: 'authorization_pending', error_description: 'Precondition Required' },
      withSecret(isPoll),
    );
    google.token(403, { error: 'slow_down', error_description: 'Forbidden' }, withSecret(isPoll));
    google.token(
      200,
      {
        access_token: 'ya29.a0AfH6SM-access-1',
        expires_in: 3599,
        refresh_token: '1//04-google-refresh',
        scope: 'openid https://www.googleapis.com/auth/userinfo.email',
        token_type: 'Bearer',
        id_token: await idToken('accounts.google.com'),
      },
      withSecret(isPoll),
    );
    google.keys();
    const { manager, waits } = managerFor(options);
    const seen: string[] = [];
    manager.on('deviceCode', (event) => seen.push(event.uri));
    const token = await manager.getToken();
    expect(seen).toEqual(['https://www.google.com/device']);
    expect(token.access_token).toBe('ya29.a0AfH6SM-access-1');
    expect(waits.map((ms) => Math.floor(ms / 1000))).toEqual([5, 5, 10]);
    expect(await manager.claims()).toMatchObject({
      iss: 'accounts.google.com',
      email: 'ada@gmail.com',
    });
  });

  it('a refresh without a refresh token keeps the one it has', async () => {
    google.discovery();
    google.device(200, device);
    google.token(
      200,
      {
        access_token: 'ya29.access-1',
        expires_in: 3599,
        refresh_token: '1//04-google-refresh',
        token_type: 'Bearer',
        id_token: await idToken(issuer),
      },
      isPoll,
    );
    google.keys();
    const { manager } = managerFor(options);
    await manager.getToken();
    google.token(
      200,
      {
        access_token: 'ya29.access-2',
        expires_in: 3599,
        scope: 'openid',
        token_type: 'Bearer',
        id_token: await idToken(issuer),
      },
      withSecret(isRefresh('1//04-google-refresh')),
    );
    manager.invalidate();
    const refreshed = await manager.getToken();
    expect(refreshed.access_token).toBe('ya29.access-2');
    expect(refreshed.refresh_token).toBe('1//04-google-refresh');
  });

  it('access_denied (403) stops; expired_token (400) ends the login', async () => {
    google.discovery();
    google.device(200, device);
    google.token(403, { error: 'access_denied', error_description: 'Forbidden' }, isPoll);
    expect((await rejection(managerFor(options).manager.getToken())).code).toBe(
      ErrorCode.ACCESS_DENIED,
    );

    google.discovery();
    google.device(200, device);
    google.token(400, { error: 'expired_token', error_description: 'Bad Request' }, isPoll);
    expect((await rejection(managerFor(options).manager.getToken())).code).toBe(
      ErrorCode.DEVICE_CODE_EXPIRED,
    );
  });

  it('without endpointOrigins, Google’s endpoints on another origin are refused with the fix named', async () => {
    google.discovery();
    const { manager } = managerFor({ ...options, endpointOrigins: [] });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('add it to endpointOrigins');
  });
});
