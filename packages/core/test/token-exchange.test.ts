// RFC 8693 token exchange against oidc-provider (with the fixture's registered grant).

import { exchangeAudiences, tokenExchangeGrant } from '@oidc-auth/test-support/oidc-provider';
import { describe, expect, it } from 'vitest';
import { ErrorCode, MemoryTokenStore, TokenManager } from '../src/index.js';
import { defer, oidcManager, rejection } from './helpers.js';

const [archive, compute] = exchangeAudiences as [string, string];

async function loggedIn() {
  const { op, manager } = await oidcManager();
  const user = await manager.getToken();
  return { op, manager, user };
}

describe('token exchange (RFC 8693) against oidc-provider', () => {
  it('exchanges the user’s token for one with another audience; kept while fresh; one exchange for concurrent calls', async () => {
    const { op, manager, user } = await loggedIn();
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => manager.exchange({ audience: archive })),
    );
    const token = tokens[0];
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(1);
    expect(token?.access_token).not.toBe(user.access_token);
    expect(op.exchanged.get(token?.access_token ?? '')).toMatchObject({
      accountId: 'tester',
      audience: archive,
    });
    expect(op.grants[tokenExchangeGrant]).toBe(1);
    // Kept: asked again, no new exchange; another audience is its own exchange.
    expect((await manager.exchange({ audience: archive })).access_token).toBe(token?.access_token);
    const other = await manager.exchange({ audience: compute });
    expect(op.exchanged.get(other.access_token)?.audience).toBe(compute);
    expect(op.grants[tokenExchangeGrant]).toBe(2);
    // The exchanged token is never stored.
    expect((await manager.store.get(manager.host))?.token.access_token).toBe(user.access_token);
  });

  it('a new user token, or { fresh: true } after a 401 from the target, makes a new exchange', async () => {
    const { op, manager } = await loggedIn();
    const first = await manager.exchange({ audience: archive });
    const forced = await manager.exchange({ audience: archive }, { fresh: true });
    expect(forced.access_token).not.toBe(first.access_token);
    manager.invalidate();
    await manager.getToken();
    const afterRefresh = await manager.exchange({ audience: archive });
    expect(afterRefresh.access_token).not.toBe(forced.access_token);
    expect(op.grants[tokenExchangeGrant]).toBe(3);
  });

  it('a refused exchange is a SERVER_ERROR naming the provider’s error, never the token; not kept', async () => {
    const { op, manager, user } = await loggedIn();
    const error = await rejection(manager.exchange({ audience: 'https://unknown.example.org' }));
    expect(error.code).toBe(ErrorCode.SERVER_ERROR);
    expect(error.message).toContain('invalid_target');
    expect(JSON.stringify({ error, message: error.message, detail: error.detail })).not.toContain(
      user.access_token,
    );
    await rejection(manager.exchange({ audience: 'https://unknown.example.org' }));
    expect(op.grants[`${tokenExchangeGrant}:error`]).toBe(2);
  });

  it('needs an audience or a resource, and an OpenID Provider', async () => {
    const { manager } = await loggedIn();
    expect((await rejection(manager.exchange({}))).code).toBe(ErrorCode.INVALID_OPTIONS);
    const py = new TokenManager({ host: 'https://app.example.org', store: new MemoryTokenStore() });
    defer(() => py.close());
    const token = {
      access_token: 'a',
      token_type: 'Bearer',
      expires: Math.floor(Date.now() / 1000) + 3600,
      refresh_token: '',
      refresh_expires: 0,
      scope: '',
      headers: {},
    };
    await py.store.put(py.host, token);
    const error = await rejection(py.exchange({ audience: archive }));
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(error.message).toContain('do not exchange tokens');
  });
});
