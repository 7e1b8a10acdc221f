// Okta, replayed. Sources: "Configure Device Authorization Grant Flow"
// (https://developer.okta.com/docs/guides/device-authorization-grant/main/): a custom
// authorization server's endpoints /oauth2/default/v1/device/authorize and /v1/token, polls
// answering 400 `authorization_pending` / `slow_down`, `access_denied`, `expired_token`;
// "Refresh token rotation" (https://developer.okta.com/docs/guides/refresh-tokens/main/#refresh-token-rotation):
// each refresh answers a new refresh token, the old one stays valid for a grace period (30 s by
// default), and no answer says when a refresh token expires (`refresh_expires_in` is absent).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { isPoll, isRefresh, laterInABatchJob, managerFor, replay } from './transcript.js';

const issuer = 'https://dev-133337.okta.com/oauth2/default';
const okta = replay({
  issuer,
  kid: 'cO5aZfvr3hS-HQnJ8AnS8fvTT2pqrwVvD0ZVhaAn7jA',
  discovery: {
    issuer,
    authorization_endpoint: `${issuer}/v1/authorize`,
    token_endpoint: `${issuer}/v1/token`,
    userinfo_endpoint: `${issuer}/v1/userinfo`,
    registration_endpoint: 'https://dev-133337.okta.com/oauth2/v1/clients',
    jwks_uri: `${issuer}/v1/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'code token'],
    grant_types_supported: [
      'authorization_code',
      'implicit',
      'refresh_token',
      'password',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: [
      'openid',
      'profile',
      'email',
      'address',
      'phone',
      'offline_access',
      'device_sso',
    ],
    token_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      'none',
    ],
    code_challenge_methods_supported: ['S256'],
    device_authorization_endpoint: `${issuer}/v1/device/authorize`,
    dpop_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
  },
});

const clientId = '0oa4vm4bkpRxpdWmq5d7';
const device = {
  device_code: '1a521d9f-0922-4e6d-8db9-8b654297435e',
  user_code: 'GDLMZQCT',
  verification_uri: 'https://dev-133337.okta.com/activate',
  verification_uri_complete: 'https://dev-133337.okta.com/activate?user_code=GDLMZQCT',
  expires_in: 600,
  interval: 5,
};
const idClaims = {
  iss: issuer,
  aud: clientId,
  sub: '00uid4BxXw6I6TV4m0g3',
  ver: 1,
  jti: 'ID.4eAWJOCMB3SX8XewDfVR',
  amr: ['pwd'],
  idp: '00ok1u7AsAkrwdZL3z0g3',
  auth_time: Math.floor(Date.now() / 1000) - 10,
  preferred_username: 'ada@example.org',
};

async function tokenAnswer(n: number) {
  return {
    token_type: 'Bearer',
    expires_in: 3600,
    access_token: `okta-access-${n}`,
    scope: 'openid offline_access',
    refresh_token: `okta-refresh-${n}`,
    id_token: await okta.idToken(idClaims),
  };
}

describe('Okta (transcript)', () => {
  it('device login, verified claims; a refresh token with no stated lifetime is kept a year', async () => {
    okta.discovery();
    okta.device(
      200,
      device,
      (form) => form.client_id === clientId && form.scope === 'openid offline_access',
    );
    okta.token(
      400,
      {
        error: 'authorization_pending',
        error_description: 'The device authorization is pending. Please try again later.',
      },
      isPoll,
    );
    okta.token(
      400,
      { error: 'slow_down', error_description: 'The client is polling too frequently.' },
      isPoll,
    );
    okta.token(200, await tokenAnswer(1), isPoll);
    okta.keys();
    const { manager } = managerFor({ issuer, clientId });
    const token = await manager.getToken();
    expect(token.refresh_expires - Date.now() / 1000).toBeGreaterThan(364 * 24 * 3600);
    expect(await manager.claims()).toMatchObject({ sub: idClaims.sub, ver: 1 });

    okta.token(200, await tokenAnswer(2), isRefresh('okta-refresh-1'));
    manager.invalidate();
    expect((await manager.getToken()).refresh_token).toBe('okta-refresh-2');
  });

  it('a refresh token past its grace period: invalid_grant is a refused refresh; a batch job is told to log in', async () => {
    okta.discovery();
    okta.device(200, device);
    okta.token(200, await tokenAnswer(1), isPoll);
    okta.keys();
    const { manager } = managerFor({ issuer, clientId });
    const batch = await laterInABatchJob(manager, { issuer, clientId });
    okta.discovery();
    okta.token(
      400,
      { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' },
      isRefresh('okta-refresh-1'),
    );
    const error = await rejection(batch.getToken());
    expect(error.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(error.message).toContain(`oidc-auth login ${issuer} --client-id ${clientId}`);
  });

  it('access_denied and expired_token', async () => {
    okta.discovery();
    okta.device(200, device);
    okta.token(
      400,
      {
        error: 'access_denied',
        error_description: 'The resource owner or authorization server denied the request.',
      },
      isPoll,
    );
    expect((await rejection(managerFor({ issuer, clientId }).manager.getToken())).code).toBe(
      ErrorCode.ACCESS_DENIED,
    );

    okta.discovery();
    okta.device(200, device);
    okta.token(
      400,
      { error: 'expired_token', error_description: 'The device code is expired.' },
      isPoll,
    );
    expect((await rejection(managerFor({ issuer, clientId }).manager.getToken())).code).toBe(
      ErrorCode.DEVICE_CODE_EXPIRED,
    );
  });
});
