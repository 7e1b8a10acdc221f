// Auth0, replayed. Sources: "Call Your API Using the Device Authorization Flow"
// (https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow/call-your-api-using-the-device-authorization-flow)
// and the Authentication API's device flow (https://auth0.com/docs/api/authentication#device-authorization-flow):
// polls answer `authorization_pending` and `expired_token` with HTTP 403 and `slow_down` with
// HTTP 429; `expired_token` comes once, then `invalid_grant`. "Refresh Token Rotation"
// (https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation): each refresh
// returns a new refresh token; presenting a rotated-out one outside the reuse interval revokes
// the family and answers 403 `invalid_grant`. The issuer ends with a slash.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { isPoll, isRefresh, laterInABatchJob, managerFor, replay } from './transcript.js';

const issuer = 'https://science.eu.auth0.com/';
const auth0 = replay({
  issuer,
  kid: 'QzBCMDM5OTJGQjQ4RDE2QjM2OEE2Q0Y4',
  discovery: {
    issuer,
    authorization_endpoint: 'https://science.eu.auth0.com/authorize',
    token_endpoint: 'https://science.eu.auth0.com/oauth/token',
    device_authorization_endpoint: 'https://science.eu.auth0.com/oauth/device/code',
    userinfo_endpoint: 'https://science.eu.auth0.com/userinfo',
    mfa_challenge_endpoint: 'https://science.eu.auth0.com/mfa/challenge',
    jwks_uri: 'https://science.eu.auth0.com/.well-known/jwks.json',
    registration_endpoint: 'https://science.eu.auth0.com/oidc/register',
    revocation_endpoint: 'https://science.eu.auth0.com/oauth/revoke',
    scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'email'],
    response_types_supported: ['code', 'token', 'id_token', 'code token'],
    code_challenge_methods_supported: ['S256', 'plain'],
    id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
    token_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ],
  },
});

const clientId = 'nvTVBGZTKy7GGLiXL8OsCNX5vd6Vq3CZ';
const device = {
  device_code: 'Ag_EE...ko1p',
  user_code: 'QTZL-MCBW',
  verification_uri: 'https://science.eu.auth0.com/activate',
  verification_uri_complete: 'https://science.eu.auth0.com/activate?user_code=QTZL-MCBW',
  expires_in: 900,
  interval: 5,
};
const idClaims = {
  iss: issuer,
  aud: clientId,
  sub: 'auth0|6543a1b2c3d4e5f601234567',
  nickname: 'ada',
  name: 'ada@example.org',
  email: 'ada@example.org',
  email_verified: true,
  sid: 'Qy2mK2l3cKk8S3oQ',
};

async function tokenAnswer(n: number) {
  return {
    access_token: `auth0-access-${n}`,
    id_token: await auth0.idToken(idClaims),
    refresh_token: `auth0-refresh-${n}`,
    scope: 'openid offline_access',
    expires_in: 86400,
    token_type: 'Bearer',
  };
}

describe('Auth0 (transcript)', () => {
  it('device login: 403 pending, 429 slow_down (slower, not retried), approval; issuer with a slash', async () => {
    auth0.discovery();
    auth0.device(200, device, (form) => form.client_id === clientId);
    auth0.token(
      403,
      {
        error: 'authorization_pending',
        error_description: 'User has yet to authorize device code.',
      },
      isPoll,
    );
    auth0.token(
      429,
      {
        error: 'slow_down',
        error_description: 'You are polling faster than the specified interval of 5 seconds.',
      },
      isPoll,
    );
    auth0.token(200, await tokenAnswer(1), isPoll);
    auth0.keys();
    const { manager, waits } = managerFor({ issuer, clientId });
    const token = await manager.getToken();
    expect(token.access_token).toBe('auth0-access-1');
    expect(waits.map((ms) => Math.floor(ms / 1000))).toEqual([5, 5, 10]);
    expect(manager.identity.server).toBe('https://science.eu.auth0.com');
    expect(manager.host).toBe(
      `https://science.eu.auth0.com#client_id=${clientId}&scope=offline_access+openid`,
    );
    // The ID token's iss keeps the slash, as the discovery document does.
    expect(await manager.claims()).toMatchObject({ iss: issuer, sub: idClaims.sub });
  });

  it('rotation: every refresh spends its token once; 10 concurrent 401s share one refresh', async () => {
    auth0.discovery();
    auth0.device(200, device);
    auth0.token(200, await tokenAnswer(1), isPoll);
    auth0.keys();
    const { manager } = managerFor({ issuer, clientId });
    const first = await manager.getToken();
    // nock answers this refresh once: a second spend of auth0-refresh-1 would find no answer.
    auth0.token(200, await tokenAnswer(2), isRefresh('auth0-refresh-1'));
    const recovered = await Promise.all(
      Array.from({ length: 10 }, () => manager.recover(first.access_token)),
    );
    expect(new Set(recovered.map((t) => t.refresh_token))).toEqual(new Set(['auth0-refresh-2']));
  });

  it('two managers sharing one store (as processes share the token file): the second uses the first one’s rotation, never needing the reuse interval', async () => {
    auth0.discovery();
    auth0.device(200, device);
    auth0.token(200, await tokenAnswer(1), isPoll);
    auth0.keys();
    const first = managerFor({ issuer, clientId }).manager;
    const token = await first.getToken();
    // A second process: it reads the stored token and needs no discovery of its own.
    const second = managerFor({ issuer, clientId, store: first.store }).manager;
    expect((await second.getToken()).access_token).toBe(token.access_token);
    // Both get a 401 for the same access token; nock answers one refresh of auth0-refresh-1
    // only, so a second spend (which Auth0 tolerates only within its reuse interval) would fail.
    auth0.token(200, await tokenAnswer(2), isRefresh('auth0-refresh-1'));
    const one = await first.recover(token.access_token);
    const two = await second.recover(token.access_token);
    expect(two.access_token).toBe(one.access_token);
    expect(two.refresh_token).toBe('auth0-refresh-2');
  });

  it('reuse detected (a rotated-out token): 403 invalid_grant is a refused refresh, and a batch job is told to log in', async () => {
    auth0.discovery();
    auth0.device(200, device);
    auth0.token(200, await tokenAnswer(1), isPoll);
    auth0.keys();
    const { manager } = managerFor({ issuer, clientId });
    // Its refresh token was rotated out by someone else meanwhile: Auth0 refuses it.
    const batch = await laterInABatchJob(manager, { issuer, clientId });
    auth0.discovery();
    auth0.token(
      403,
      { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' },
      isRefresh('auth0-refresh-1'),
    );
    const error = await rejection(batch.getToken());
    expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(error.detail).toMatchObject({ sessionEnded: true });
  });

  it('expired_token (HTTP 403) ends the login', async () => {
    auth0.discovery();
    auth0.device(200, device);
    auth0.token(
      403,
      { error: 'expired_token', error_description: 'The device code has expired.' },
      isPoll,
    );
    const { manager } = managerFor({ issuer, clientId });
    expect((await rejection(manager.getToken())).code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
  });

  it('access_denied (HTTP 403) stops polling', async () => {
    auth0.discovery();
    auth0.device(200, device);
    auth0.token(
      403,
      {
        error: 'access_denied',
        error_description: 'User cancelled the confirmation prompt or consent page.',
      },
      isPoll,
    );
    const { manager } = managerFor({ issuer, clientId });
    expect((await rejection(manager.getToken())).code).toBe(ErrorCode.ACCESS_DENIED);
  });
});
