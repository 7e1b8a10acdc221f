// Microsoft Entra ID (v2.0 endpoints), replayed. Sources: "Microsoft identity platform and the
// OAuth 2.0 device authorization grant flow"
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code): the /devicecode
// answer has `message` and no `verification_uri_complete`; polls answer 400 with Entra's extras
// (`error_codes`, `trace_id`, `correlation_id`, `timestamp`, `error_uri`); a user who says no gets
// `authorization_declined`. "OpenID Connect on the Microsoft identity platform"
// (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc): the tenant's discovery
// document, and `/common` whose issuer is the template `…/{tenantid}/v2.0`.
import { describe, expect, it } from 'vitest';
import { ErrorCode, TokenManager } from '../../src/index.js';
import { defer, rejection } from '../helpers.js';
import { isPoll, isRefresh, managerFor, replay } from './transcript.js';

const tenant = '9188040d-6c67-4c5b-b112-36a304b66dad';
const issuer = `https://login.microsoftonline.com/${tenant}/v2.0`;
const base = `https://login.microsoftonline.com/${tenant}`;
const entra = replay({
  issuer,
  kid: 'nOo3ZDrODXEK1jKWhXslHR_KXEg',
  discovery: {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
  },
});

const clientId = '535fb089-9ff3-47b6-9bfb-4f1264799865';
const scopes = ['openid', 'offline_access', 'api://science-api/access'];
const device = {
  user_code: 'FTMLZ3TQ9',
  device_code: 'DAQABAAEAAAD--DLA3VO7QrddgJg7WevrzFm4',
  verification_uri: 'https://microsoft.com/devicelogin',
  expires_in: 900,
  interval: 5,
  message:
    'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FTMLZ3TQ9 to authenticate.',
};
const extras = {
  error_codes: [70016],
  timestamp: '2026-11-27 09:34:07Z',
  trace_id: '21a7ca08-5c6d-4238-a06f-d7808ff27900',
  correlation_id: '55137716-1f7e-42e1-b0fa-4d07b8d4896c',
  error_uri: 'https://login.microsoftonline.com/error?code=70016',
};
const idClaims = {
  iss: issuer,
  aud: clientId,
  sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
  tid: tenant,
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  preferred_username: 'ada@contoso.onmicrosoft.com',
  name: 'Ada Lovelace',
  ver: '2.0',
};

async function tokenAnswer(n: number) {
  return {
    token_type: 'Bearer',
    scope: 'api://science-api/access openid profile email',
    expires_in: 3599,
    ext_expires_in: 3599,
    access_token: `entra-access-${n}`,
    refresh_token: `entra-refresh-${n}`,
    id_token: await entra.idToken(idClaims),
  };
}

describe('Microsoft Entra ID (transcript)', () => {
  it('device login with the API scope: Entra’s pending errors, approval, verified claims, refresh', async () => {
    entra.discovery();
    entra.device(
      200,
      device,
      (form) => form.scope === scopes.join(' ') && form.client_id === clientId,
    );
    entra.token(
      400,
      {
        error: 'authorization_pending',
        error_description:
          'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
        ...extras,
      },
      isPoll,
    );
    entra.token(200, await tokenAnswer(1), isPoll);
    entra.keys();
    const { manager } = managerFor({ issuer, clientId, scopes });
    const token = await manager.getToken();
    expect(token.scope).toBe('api://science-api/access openid profile email');
    expect(token.expires - Date.now() / 1000).toBeGreaterThan(3500);
    expect(await manager.claims()).toMatchObject({
      tid: tenant,
      preferred_username: idClaims.preferred_username,
    });

    // Entra rotates the refresh token on each use.
    entra.token(200, await tokenAnswer(2), isRefresh('entra-refresh-1'));
    manager.invalidate();
    expect((await manager.getToken()).refresh_token).toBe('entra-refresh-2');
  });

  it('authorization_declined is a denial: polling stops at once', async () => {
    entra.discovery();
    entra.device(200, device);
    entra.token(
      400,
      {
        error: 'authorization_declined',
        error_description: 'AADSTS70000: The user declined the request.',
        ...extras,
        error_codes: [70000],
      },
      isPoll,
    );
    const { manager } = managerFor({ issuer, clientId, scopes });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('expired_token ends the login; bad_verification_code is a server error that names it', async () => {
    entra.discovery();
    entra.device(200, device);
    entra.token(
      400,
      {
        error: 'expired_token',
        error_description:
          'AADSTS70020: The provided value for the input parameter device_code is not valid.',
        ...extras,
      },
      isPoll,
    );
    const first = managerFor({ issuer, clientId, scopes }).manager;
    expect((await rejection(first.getToken())).code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);

    entra.discovery();
    entra.device(200, device);
    entra.token(
      400,
      {
        error: 'bad_verification_code',
        error_description: 'AADSTS70019: Verification code expired.',
        ...extras,
      },
      isPoll,
    );
    const second = managerFor({ issuer, clientId, scopes }).manager;
    const error = await rejection(second.getToken());
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.message).toContain('bad_verification_code');
  });

  it('the /common issuer is a template, not an issuer: a clear error says to use the tenant', async () => {
    const common = 'https://login.microsoftonline.com/common/v2.0';
    const commonEntra = replay({
      issuer: common,
      kid: 'x',
      discovery: {
        issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
        token_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
        device_authorization_endpoint:
          'https://login.microsoftonline.com/common/oauth2/v2.0/devicecode',
        jwks_uri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
      },
    });
    commonEntra.discovery();
    const manager = new TokenManager({
      issuer: common,
      clientId,
      interactive: true,
      onDeviceCode: () => undefined,
    });
    defer(() => manager.close());
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.BAD_RESPONSE);
    expect(error.message).toContain(
      'names another issuer (https://login.microsoftonline.com/{tenantid}/v2.0)',
    );
  });
});
