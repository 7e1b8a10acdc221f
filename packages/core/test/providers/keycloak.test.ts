// Keycloak, replayed. Sources: "Securing applications with OIDC — Device Authorization Grant"
// (https://www.keycloak.org/securing-apps/oidc-layers#_device_authorization_endpoint), the realm
// discovery document (https://www.keycloak.org/securing-apps/oidc-layers#_endpoints) and
// "Offline access" (https://www.keycloak.org/docs/latest/server_admin/#_offline-access): offline
// tokens answer `refresh_expires_in: 0`; answers carry `not-before-policy` and `session_state`.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { isPoll, isRefresh, managerFor, replay } from './transcript.js';

const issuer = 'https://keycloak.example.org/realms/science';
const oidc = `${issuer}/protocol/openid-connect`;
const keycloak = replay({
  issuer,
  kid: 'kc-rsa-1',
  discovery: {
    issuer,
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    introspection_endpoint: `${oidc}/token/introspect`,
    userinfo_endpoint: `${oidc}/userinfo`,
    end_session_endpoint: `${oidc}/logout`,
    jwks_uri: `${oidc}/certs`,
    device_authorization_endpoint: `${oidc}/auth/device`,
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    response_types_supported: ['code'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    code_challenge_methods_supported: ['plain', 'S256'],
  },
});

const clientId = 'science-cli';
const device = {
  device_code: 'kc-device-code-2f1c',
  user_code: 'WDJB-MJHT',
  verification_uri: `${issuer}/device`,
  verification_uri_complete: `${issuer}/device?user_code=WDJB-MJHT`,
  expires_in: 600,
  interval: 5,
};
const idClaims = {
  iss: issuer,
  aud: clientId,
  sub: 'b6c2e1f0-8d1e-4a55-9d62-0f5d1c3e2a10',
  typ: 'ID',
  azp: clientId,
  sid: '4e0b3b0e-2b7c-4e1f-8a1e-7f0d6d1c9b2a',
  preferred_username: 'ada',
  email: 'ada@example.org',
};

async function tokenAnswer(n: number) {
  return {
    access_token: `kc-access-${n}`,
    expires_in: 300,
    // An offline token: Keycloak says 0, meaning no fixed expiry.
    refresh_expires_in: 0,
    refresh_token: `kc-offline-${n}`,
    token_type: 'Bearer',
    id_token: await keycloak.idToken(idClaims),
    'not-before-policy': 0,
    session_state: idClaims.sid,
    scope: 'openid offline_access profile email',
  };
}

describe('Keycloak (transcript)', () => {
  it('device login: pending, slow_down, approved; an offline token; verified claims; refresh', async () => {
    keycloak.discovery();
    keycloak.device(
      200,
      device,
      (form) => form.client_id === clientId && form.scope === 'openid offline_access',
    );
    keycloak.token(
      400,
      {
        error: 'authorization_pending',
        error_description: 'The authorization request is still pending',
      },
      isPoll,
    );
    keycloak.token(400, { error: 'slow_down', error_description: 'Slow down' }, isPoll);
    keycloak.token(200, await tokenAnswer(1), isPoll);
    keycloak.keys();
    const { manager, waits } = managerFor({ issuer, clientId });

    const token = await manager.getToken();
    expect(token.access_token).toBe('kc-access-1');
    // refresh_expires_in 0: a year, not "expired now".
    expect(token.refresh_expires - Date.now() / 1000).toBeGreaterThan(364 * 24 * 3600);
    expect(await manager.claims()).toMatchObject({ sub: idClaims.sub, preferred_username: 'ada' });
    // The interval (5 s), again after pending, then 5 s more after slow_down.
    expect(waits.map((ms) => Math.floor(ms / 1000))).toEqual([5, 5, 10]);

    keycloak.token(200, await tokenAnswer(2), isRefresh('kc-offline-1'));
    manager.invalidate();
    const refreshed = await manager.getToken();
    expect(refreshed.refresh_token).toBe('kc-offline-2');
    expect((await manager.claims())?.sub).toBe(idClaims.sub);
  });

  it('an offline session revoked by an admin: the refresh is refused and a login is asked for', async () => {
    keycloak.discovery();
    keycloak.device(200, device);
    keycloak.token(200, await tokenAnswer(1), isPoll);
    keycloak.keys();
    const { manager } = managerFor({ issuer, clientId });
    await manager.getToken();
    keycloak.token(
      400,
      { error: 'invalid_grant', error_description: 'Offline user session not found' },
      isRefresh('kc-offline-1'),
    );
    keycloak.device(200, { ...device, device_code: 'second' });
    keycloak.token(
      400,
      {
        error: 'access_denied',
        error_description: 'The end user denied the authorization request.',
      },
      isPoll,
    );
    manager.invalidate();
    const error = await rejection(manager.getToken());
    expect(error.code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('the device code expires before approval', async () => {
    keycloak.discovery();
    keycloak.device(200, device);
    keycloak.token(
      400,
      { error: 'expired_token', error_description: 'The device code has expired.' },
      isPoll,
    );
    const { manager } = managerFor({ issuer, clientId });
    expect((await rejection(manager.getToken())).code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
  });
});
