import type { ServerResponse } from 'node:http';
import { json } from './respond.js';
import type { MockState } from './state.js';

/** RFC 8628's device authorization answer, for both the py-oidc-auth and the standard route. */
export function answerDevice(
  state: MockState,
  res: ServerResponse,
  grant: { deviceCode: string; userCode: string },
  complete: boolean,
): void {
  const uri = `${state.baseUrl}/device`;
  json(res, 200, {
    device_code: grant.deviceCode,
    user_code: grant.userCode,
    verification_uri: uri,
    verification_uri_complete: complete
      ? `${uri}?user_code=${encodeURIComponent(grant.userCode)}`
      : null,
    expires_in: state.settings.current.deviceExpiresIn,
    interval: state.settings.current.interval,
  });
}

/** A userinfo answer for a token's subject (py-oidc-auth's also names the token's scopes). */
export function answerUserinfo(
  res: ServerResponse,
  claims: { subject: string; scope: string },
  withScope: boolean,
): void {
  json(res, 200, {
    sub: claims.subject,
    preferred_username: claims.subject,
    email: `${claims.subject}@example.org`,
    ...(withScope ? { scope: claims.scope } : {}),
  });
}
