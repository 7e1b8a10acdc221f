import type { Token } from '@oidc-auth/core';

/** A token named `name` (its access token), valid for an hour, its refresh token for two. */
export function token(name: string, overrides: Partial<Token> = {}): Token {
  const now = Math.floor(Date.now() / 1000);
  return {
    access_token: name,
    token_type: 'Bearer',
    expires: now + 3600,
    refresh_token: `rt_${name}`,
    refresh_expires: now + 7200,
    scope: 'openid',
    headers: { Authorization: `Bearer ${name}` },
    ...overrides,
  };
}
