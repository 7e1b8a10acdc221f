// GitLab, replayed. Sources: "OAuth 2.0 identity provider API — Device authorization grant flow"
// (https://docs.gitlab.com/api/oauth2/#device-authorization-grant-flow, GitLab 17.1+): endpoints
// /oauth/authorize_device and /oauth/token; token answers carry `created_at` and
// `expires_in: 7200`, a new refresh token on every refresh and no refresh-token lifetime.
// "GitLab as an OpenID Connect identity provider" (https://docs.gitlab.com/integration/openid_connect_provider/):
// discovery at https://gitlab.com/.well-known/openid-configuration, keys at /oauth/discovery/keys,
// ID-token claims (`sub` the user id, `nickname`, `groups_direct`). GitLab's scopes are its own
// (`openid`, `read_api`, …): `offline_access` is not one, and asking for it is `invalid_scope`.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { isPoll, isRefresh, managerFor, replay } from './transcript.js';

const issuer = 'https://gitlab.com';
const gitlab = replay({
  issuer,
  kid: 'kewiQq9jiC84CvSsJYOB-N6A8WFLSV20Mb-y7IlWDSQ',
  discovery: {
    issuer,
    authorization_endpoint: 'https://gitlab.com/oauth/authorize',
    token_endpoint: 'https://gitlab.com/oauth/token',
    revocation_endpoint: 'https://gitlab.com/oauth/revoke',
    introspection_endpoint: 'https://gitlab.com/oauth/introspect',
    userinfo_endpoint: 'https://gitlab.com/oauth/userinfo',
    jwks_uri: 'https://gitlab.com/oauth/discovery/keys',
    device_authorization_endpoint: 'https://gitlab.com/oauth/authorize_device',
    scopes_supported: [
      'api',
      'read_api',
      'read_user',
      'read_repository',
      'openid',
      'profile',
      'email',
    ],
    response_types_supported: ['code'],
    grant_types_supported: [
      'authorization_code',
      'password',
      'client_credentials',
      'device_code',
      'refresh_token',
    ],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  },
});

const clientId = '3f1b7c6e0d9a4e5c8b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c';
const scopes = ['openid', 'read_api'];
const device = {
  device_code: 'GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS',
  user_code: '0A44L90H',
  verification_uri: 'https://gitlab.com/oauth/device',
  verification_uri_complete: 'https://gitlab.com/oauth/device?user_code=0A44L90H',
  expires_in: 300,
  interval: 5,
};

async function tokenAnswer(n: number) {
  return {
    access_token: `glpat-access-${n}`,
    token_type: 'Bearer',
    expires_in: 7200,
    refresh_token: `gitlab-refresh-${n}`,
    scope: 'openid read_api',
    created_at: Math.floor(Date.now() / 1000),
    id_token: await gitlab.idToken({
      iss: issuer,
      aud: clientId,
      sub: '1234567',
      sub_legacy: '2bc9f8e5e1d0c7a6b5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2',
      nickname: 'ada',
      groups_direct: ['science/instruments'],
    }),
  };
}

describe('GitLab (transcript)', () => {
  it('device login with GitLab scopes, created_at ignored, verified claims; rotating refresh', async () => {
    gitlab.discovery();
    gitlab.device(
      200,
      device,
      (form) => form.scope === 'openid read_api' && form.client_id === clientId,
    );
    gitlab.token(
      400,
      {
        error: 'authorization_pending',
        error_description:
          'The authorization request is still pending as the end user has not yet completed the user-interaction steps.',
      },
      isPoll,
    );
    gitlab.token(200, await tokenAnswer(1), isPoll);
    gitlab.keys();
    const { manager } = managerFor({ issuer, clientId, scopes });
    const token = await manager.getToken();
    expect(token.expires - Date.now() / 1000).toBeGreaterThan(7100);
    expect(await manager.claims()).toMatchObject({ sub: '1234567', nickname: 'ada' });

    gitlab.token(200, await tokenAnswer(2), isRefresh('gitlab-refresh-1'));
    manager.invalidate();
    expect((await manager.getToken()).refresh_token).toBe('gitlab-refresh-2');
  });

  it('the default scopes ask for offline_access: GitLab’s invalid_scope is shown with its words', async () => {
    gitlab.discovery();
    gitlab.device(400, {
      error: 'invalid_scope',
      error_description: 'The requested scope is invalid, unknown, or malformed.',
    });
    const { manager } = managerFor({ issuer, clientId });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.message).toContain(
      'invalid_scope (The requested scope is invalid, unknown, or malformed.)',
    );
  });

  it('access_denied and expired_token', async () => {
    gitlab.discovery();
    gitlab.device(200, device);
    gitlab.token(
      400,
      {
        error: 'access_denied',
        error_description: 'The resource owner or authorization server denied the request.',
      },
      isPoll,
    );
    expect(
      (await rejection(managerFor({ issuer, clientId, scopes }).manager.getToken())).code,
    ).toBe(ErrorCode.ACCESS_DENIED);

    gitlab.discovery();
    gitlab.device(200, device);
    gitlab.token(
      400,
      { error: 'expired_token', error_description: 'The device code has expired.' },
      isPoll,
    );
    expect(
      (await rejection(managerFor({ issuer, clientId, scopes }).manager.getToken())).code,
    ).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
  });
});
