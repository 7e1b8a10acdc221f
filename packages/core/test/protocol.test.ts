import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ErrorCode,
  normalizeHost,
  parseDeviceAuthorizationAnswer,
  parseOAuthErrorJson,
  parsePollAnswer,
  parseRefreshAnswer,
  parseTokenJson,
} from '../src/index.js';
import { answer } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof AuthError ? error.code : 'untyped';
  }
  return undefined;
}

const wrapped = (error: string) => ({
  detail: `Upstream OIDC error: ${JSON.stringify({ error, error_description: 'x' })}`,
});

describe('parseOAuthErrorJson', () => {
  it('reads the RFC 6749 shape and the py-oidc-auth wrapped shape', () => {
    expect(parseOAuthErrorJson({ error: 'slow_down' })).toBe('slow_down');
    expect(parseOAuthErrorJson(wrapped('access_denied'))).toBe('access_denied');
    expect(parseOAuthErrorJson({ detail: 'Upstream OIDC error: expired_token: gone' })).toBe(
      'expired_token',
    );
    expect(parseOAuthErrorJson({ detail: 'Not Found' })).toBeUndefined();
    expect(parseOAuthErrorJson('x')).toBeUndefined();
    expect(parseOAuthErrorJson(null)).toBeUndefined();
  });
});

describe('parsePollAnswer: providers’ own words', () => {
  it("reads Entra ID's authorization_declined as a denial, and stops", () => {
    // Microsoft's documented error body (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code).
    const declined = answer(400, {
      error: 'authorization_declined',
      error_description: 'AADSTS70000: The user declined the authorization request.',
      error_codes: [70000],
      timestamp: '2026-11-27 07:40:00Z',
      trace_id: '0000aaaa-11bb-cccc-dd22-eeeeee333333',
      correlation_id: 'aaaa0000-bb11-2222-33cc-444444dddddd',
    });
    const error = (() => {
      try {
        parsePollAnswer(declined, 0);
      } catch (e) {
        return e as AuthError;
      }
    })();
    expect(error?.code).toBe(ErrorCode.ACCESS_DENIED);
  });
});

describe('parseDeviceAuthorizationAnswer', () => {
  const good = {
    device_code: 'dc',
    user_code: 'ABCD-EFGH',
    verification_uri: 'https://x/device',
    verification_uri_complete: 'https://x/device?user_code=ABCD-EFGH',
    expires_in: 600,
    interval: 5,
  };

  it('uses verification_uri_complete as uri when present, else verification_uri', () => {
    expect(parseDeviceAuthorizationAnswer(answer(200, good))).toEqual({
      uri: good.verification_uri_complete,
      user_code: 'ABCD-EFGH',
      device_code: 'dc',
      interval: 5,
      expires_in: 600,
      verification_uri: good.verification_uri,
    });
    const plain = parseDeviceAuthorizationAnswer(
      answer(200, { ...good, verification_uri_complete: null }),
    );
    expect(plain.uri).toBe(good.verification_uri);
  });

  it("reads Google's verification_url as verification_uri", () => {
    // The answer Google documents for its device endpoint (oauth2.googleapis.com/device/code).
    const google = {
      device_code: '4/4-GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8',
      expires_in: 1800,
      interval: 5,
      user_code: 'GQVQ-JKEC',
      verification_url: 'https://www.google.com/device',
    };
    expect(parseDeviceAuthorizationAnswer(answer(200, google))).toMatchObject({
      uri: 'https://www.google.com/device',
      verification_uri: 'https://www.google.com/device',
      user_code: 'GQVQ-JKEC',
      expires_in: 1800,
    });
  });

  it('defaults interval to 5 s', () => {
    const { interval: _, ...rest } = good;
    expect(parseDeviceAuthorizationAnswer(answer(200, rest)).interval).toBe(5);
  });

  it.each([
    ['HTML', answer(200, '<html>oops</html>')],
    ['missing device_code', answer(200, { ...good, device_code: undefined })],
    ['missing user_code', answer(200, { ...good, user_code: 7 })],
    ['bad interval', answer(200, { ...good, interval: 'soon' })],
    ['bad expires_in', answer(200, { ...good, expires_in: -1 })],
  ])('throws OIDC_BAD_RESPONSE for %s', (_, a) => {
    expect(codeOf(() => parseDeviceAuthorizationAnswer(a))).toBe(ErrorCode.BAD_RESPONSE);
  });
});

describe('parsePollAnswer', () => {
  it.each([
    ['RFC 6749', (e: string) => ({ error: e })],
    ['py-oidc-auth', wrapped],
  ])('reads the %s shape', (_, shape) => {
    expect(parsePollAnswer(answer(400, shape('authorization_pending')), 0)).toEqual({
      status: 'pending',
    });
    expect(parsePollAnswer(answer(400, shape('slow_down')), 0)).toEqual({ status: 'slow_down' });
    expect(codeOf(() => parsePollAnswer(answer(400, shape('access_denied')), 0))).toBe(
      ErrorCode.ACCESS_DENIED,
    );
    expect(codeOf(() => parsePollAnswer(answer(400, shape('expired_token')), 0))).toBe(
      ErrorCode.DEVICE_CODE_EXPIRED,
    );
  });

  it('returns the token on 200 and a server error for an unknown failure', () => {
    const done = parsePollAnswer(answer(200, { access_token: 'a', expires: 10 }), 0);
    expect(done).toMatchObject({ status: 'done', token: { access_token: 'a' } });
    expect(
      codeOf(() => parsePollAnswer(answer(400, { detail: 'Token creation failed.' }), 0)),
    ).toBe(ErrorCode.SERVER_ERROR);
  });
});

describe('parseRefreshAnswer', () => {
  const previous = parseTokenJson({ access_token: 'a', refresh_token: 'r' }, 0);

  it.each([400, 401])('turns %i into OIDC_REFRESH_REJECTED', (status) => {
    expect(
      codeOf(() => parseRefreshAnswer(answer(status, wrapped('invalid_grant')), 0, previous)),
    ).toBe(ErrorCode.REFRESH_REJECTED);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['https://MyApp.Example.com', 'https://myapp.example.com'],
    ['HTTPS://myapp.example.com:443/', 'https://myapp.example.com'],
    ['http://myapp.example.com:80/api/v1?x=1', 'http://myapp.example.com'],
    ['https://myapp.example.com:8443', 'https://myapp.example.com:8443'],
    ['myapp.example.com', 'https://myapp.example.com'],
    ['http://127.0.0.1:5000/', 'http://127.0.0.1:5000'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(codeOf(() => normalizeHost('ftp://x'))).toBe(ErrorCode.INVALID_OPTIONS);
    expect(codeOf(() => normalizeHost('http://'))).toBe(ErrorCode.INVALID_OPTIONS);
  });
});

describe('OAuth errors in detail, in both shapes', () => {
  it('every OIDC_SERVER_ERROR carries { error, error_description } a program can branch on', () => {
    const plain = answer(400, { error: 'invalid_client', error_description: 'no such client' });
    const wrapped = answer(400, {
      detail:
        'Upstream OIDC error: {"error":"invalid_client","error_description":"no such client"}',
    });
    for (const refused of [plain, wrapped]) {
      let caught: unknown;
      try {
        parsePollAnswer(refused, 0);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({
        code: ErrorCode.SERVER_ERROR,
        detail: { error: 'invalid_client', error_description: 'no such client' },
      });
    }
  });
});
