import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileTokenStore,
  isAuthError,
  parseDeviceAuthorizationAnswer,
  parsePollAnswer,
  parseRefreshAnswer,
  parseTokenJson,
  type Token,
} from '../src/index.js';
import { answer } from './helpers.js';

const runs = { numRuns: 1000 };
const now = 1_800_000_000;

/** JSON-ish values that look like token or device answers, with every field possibly wrong. */
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
);
const tokenLike = fc.record(
  {
    access_token: anyValue,
    token_type: anyValue,
    expires: anyValue,
    expires_in: anyValue,
    exp: anyValue,
    refresh_token: anyValue,
    refresh_expires: anyValue,
    refresh_expires_in: anyValue,
    scope: anyValue,
    error: fc.oneof(
      fc.constantFrom(
        'authorization_pending',
        'slow_down',
        'access_denied',
        'expired_token',
        'invalid_grant',
      ),
      fc.string(),
    ),
    detail: anyValue,
  },
  { requiredKeys: [] },
);
const bodyText = fc.oneof(
  tokenLike.map((t) => JSON.stringify(t)),
  fc.string(),
  fc.json(),
  fc.constant('<html><body>502 Bad Gateway</body></html>'),
);
const status = fc.constantFrom(200, 200, 400, 401, 403, 404, 500);

/** Either a result or a typed AuthError: never anything else, never a partial token. */
function typedOrToken(fn: () => unknown): void {
  try {
    const result = fn() as
      | { access_token?: unknown; expires?: unknown }
      | { status: string; token?: Token };
    const token =
      'token' in result ? result.token : 'access_token' in result ? (result as Token) : undefined;
    if (token) {
      expect(typeof token.access_token).toBe('string');
      expect(token.access_token).not.toBe('');
      expect(Number.isFinite(token.expires)).toBe(true);
      expect(Number.isFinite(token.refresh_expires)).toBe(true);
      expect(typeof token.refresh_token).toBe('string');
      expect(token.headers.Authorization).toBe(`${token.token_type} ${token.access_token}`);
    }
  } catch (error) {
    expect(isAuthError(error)).toBe(true);
  }
}

describe('fuzzing the parsers (fast-check, 1,000 cases each)', () => {
  const previous = parseTokenJson(
    { access_token: 'a', refresh_token: 'r', refresh_expires: now + 99 },
    now,
  );

  it('token answers: a whole token or a typed error', () => {
    fc.assert(
      fc.property(status, bodyText, (s, text) =>
        typedOrToken(() => parseRefreshAnswer(answer(s, text), now, previous)),
      ),
      runs,
    );
    fc.assert(
      fc.property(fc.anything(), (raw) => typedOrToken(() => parseTokenJson(raw, now))),
      runs,
    );
  });

  it('device-flow poll answers: pending, slow_down, a whole token, or a typed error', () => {
    fc.assert(
      fc.property(status, bodyText, (s, text) =>
        typedOrToken(() => parsePollAnswer(answer(s, text), now)),
      ),
      runs,
    );
  });

  it('device authorization answers: a usable code or a typed error', () => {
    const deviceLike = fc.record(
      {
        device_code: anyValue,
        user_code: anyValue,
        verification_uri: anyValue,
        verification_uri_complete: anyValue,
        expires_in: anyValue,
        interval: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        status,
        fc.oneof(
          deviceLike.map((d) => JSON.stringify(d)),
          fc.string(),
        ),
        (s, text) => {
          try {
            const code = parseDeviceAuthorizationAnswer(answer(s, text));
            expect(typeof code.device_code).toBe('string');
            expect(typeof code.uri).toBe('string');
            expect(code.interval).toBeGreaterThanOrEqual(0);
            expect(code.expires_in).toBeGreaterThan(0);
          } catch (error) {
            expect(isAuthError(error)).toBe(true);
          }
        },
      ),
      runs,
    );
  });
});

describe('fuzzing the token file (fast-check)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oidc-auth-fuzz-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const good: Token = parseTokenJson(
    { access_token: 'keep', refresh_token: 'keep-r', expires: now * 2, refresh_expires: now * 2 },
    now,
  );

  it('any file content: no untyped throw, and no other host’s entry is lost on write', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .dictionary(
              fc.string({ maxLength: 8 }),
              fc.oneof(anyValue, fc.record({ token: tokenLike, stored_at: anyValue })),
            )
            .map((o) => JSON.stringify(o)),
        ),
        async (content) => {
          const path = join(dir, `store-${n++}.json`);
          let parsed: unknown;
          try {
            parsed = JSON.parse(content);
          } catch {
            parsed = undefined;
          }
          const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
          const withOther = isObject
            ? JSON.stringify({
                ...(parsed as object),
                'https://other.example': { token: good, stored_at: 1 },
              })
            : content;
          await writeFile(path, withOther);
          const store = new FileTokenStore({ path, onCorrupt: () => {} });
          try {
            await store.hosts();
            await store.get('https://mine.example');
            await store.put('https://mine.example', good);
          } catch (error) {
            expect(isAuthError(error)).toBe(true);
            return;
          }
          const after = JSON.parse(await readFile(path, 'utf8')) as Record<
            string,
            { token?: Token }
          >;
          expect(after['https://mine.example']?.token?.access_token).toBe('keep');
          if (isObject) expect(after['https://other.example']?.token?.access_token).toBe('keep');
        },
      ),
      // Each case is a locked, fsynced write of a real file: 250 of them, where the parsers
      // above get 1,000.
      { numRuns: 250 },
    );
  }, 60_000);
});
