import { describe, expect, it } from 'vitest';
import { AuthError, ErrorCode, parseTokenJson } from '../src/index.js';
import { expiryMargin, isFresh } from '../src/token.js';

const now = 1_800_000_000;

describe('parseTokenJson', () => {
  it('keeps absolute expiries from a py-oidc-auth answer and builds headers', () => {
    const token = parseTokenJson(
      {
        access_token: 'at',
        token_type: 'Bearer',
        expires: now + 300,
        refresh_token: 'rt',
        refresh_expires: now + 3600,
        scope: 'openid',
      },
      now,
    );
    expect(token).toEqual({
      access_token: 'at',
      token_type: 'Bearer',
      expires: now + 300,
      refresh_token: 'rt',
      refresh_expires: now + 3600,
      scope: 'openid',
      headers: { Authorization: 'Bearer at' },
    });
  });

  it.each([
    ['expires', { expires: now + 10 }, now + 10],
    ['exp', { exp: now + 20 }, now + 20],
    ['expires_at', { expires_at: now + 30 }, now + 30],
    ['expires_in', { expires_in: 40 }, now + 40],
    ['numeric string', { expires_in: '50' }, now + 50],
    ['nothing (180 s default)', {}, now + 180],
  ])('takes the access expiry from %s', (_, fields, expected) => {
    expect(parseTokenJson({ access_token: 'a', ...fields }, now).expires).toBe(expected);
  });

  it.each([
    ['refresh_expires', { refresh_expires: now + 10 }, now + 10],
    ['refresh_exp', { refresh_exp: now + 20 }, now + 20],
    ['refresh_expires_at', { refresh_expires_at: now + 30 }, now + 30],
    ['refresh_expires_in', { refresh_expires_in: 40 }, now + 40],
    ['nothing (180 s default)', {}, now + 180],
  ])('takes the refresh expiry from %s', (_, fields, expected) => {
    const token = parseTokenJson({ access_token: 'a', refresh_token: 'r', ...fields }, now);
    expect(token.refresh_expires).toBe(expected);
  });

  it('defaults token_type to Bearer and refresh_token and scope to ""', () => {
    const token = parseTokenJson({ access_token: 'a' }, now);
    expect(token).toMatchObject({ token_type: 'Bearer', refresh_token: '', scope: '' });
    expect(token.headers).toEqual({ Authorization: 'Bearer a' });
  });

  it('keeps the previous refresh token and its expiry when the answer has none', () => {
    const previous = parseTokenJson(
      { access_token: 'a', refresh_token: 'r1', refresh_expires: now + 999, scope: 's' },
      now,
    );
    const next = parseTokenJson(
      { access_token: 'b', expires_in: 60, refresh_expires_in: 5 },
      now,
      previous,
    );
    expect(next.refresh_token).toBe('r1');
    expect(next.refresh_expires).toBe(now + 999);
    expect(next.scope).toBe('s');
  });

  it.each([
    ['not an object', 'text'],
    ['null', null],
    ['an array', [1]],
    ['missing access_token', { token_type: 'Bearer' }],
    ['empty access_token', { access_token: '' }],
    ['non-string access_token', { access_token: 5 }],
    ['non-numeric expires', { access_token: 'a', expires: 'soon' }],
    ['non-numeric expires_in', { access_token: 'a', expires_in: {} }],
    ['non-string refresh_token', { access_token: 'a', refresh_token: 7 }],
  ])('throws OIDC_BAD_RESPONSE for %s', (_, raw) => {
    let error: unknown;
    try {
      parseTokenJson(raw, now);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe(ErrorCode.BAD_RESPONSE);
    expect((error as AuthError).message).toMatch(/report it to its operator/);
  });
});

describe('expiry margin', () => {
  it('is 60 s for long-lived tokens and half the lifetime for short ones', () => {
    expect(expiryMargin(3600)).toBe(60);
    expect(expiryMargin(120)).toBe(60);
    expect(expiryMargin(30)).toBe(15);
    expect(expiryMargin(1)).toBe(0.5);
  });

  it('treats a token with ≥ 60 s left as fresh, and one with less as due', () => {
    expect(isFresh(now + 61, now - 1000, now)).toBe(true);
    expect(isFresh(now + 60, now - 1000, now)).toBe(true);
    expect(isFresh(now + 59, now - 1000, now)).toBe(false);
  });

  it('does not treat a new 30-second token as due at once', () => {
    expect(isFresh(now + 30, now, now)).toBe(true);
    expect(isFresh(now + 30, now, now + 14)).toBe(true);
    expect(isFresh(now + 30, now, now + 16)).toBe(false);
    expect(isFresh(now, now - 30, now)).toBe(false);
  });
});
