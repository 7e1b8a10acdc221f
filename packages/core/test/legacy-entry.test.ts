import { describe, expect, it } from 'vitest';
import { sessionIdentity, type Token } from '../src/index.js';
import { legacyVerdict } from '../src/manager/legacy-entry.js';

// Each rule the Configuration guide gives for an entry an earlier version stored under the
// plain issuer, on unsigned JWTs (the verdict reads claims; it does not verify them).
const jwt = (claims: object) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const issuer = 'https://id.example.org/realms/x';
const person = sessionIdentity({ server: issuer, clientId: 'app', scope: 'openid offline_access' });

function stored(fields: Partial<Token>): Token {
  return {
    access_token: 'opaque',
    token_type: 'Bearer',
    expires: 0,
    refresh_token: 'rt',
    refresh_expires: 0,
    scope: '',
    headers: {},
    ...fields,
  };
}

describe('an earlier version’s entry under the plain issuer', () => {
  it('is this client’s when every JWT in it names this client', () => {
    expect(legacyVerdict(stored({ id_token: jwt({ aud: 'app' }) }), person)).toBe(true);
    expect(
      legacyVerdict(stored({ id_token: jwt({ aud: ['app', 'api'], azp: 'app' }) }), person),
    ).toBe(true);
    // The login's verified `sub`, kept with a token whose ID token the provider did not repeat.
    const sub = 'user-1';
    expect(legacyVerdict(stored({ access_token: jwt({ client_id: 'app' }), sub }), person)).toBe(
      true,
    );
    expect(legacyVerdict(stored({ access_token: jwt({ cid: 'app' }), sub }), person)).toBe(true);
  });

  it('is not when it holds neither an ID token nor a sub: a py-oidc-auth server’s login under the same key (another kind of session), whatever client its JWT names', () => {
    expect(legacyVerdict(stored({ access_token: jwt({ azp: 'app' }) }), person)).toBe(
      "it holds no ID token, as a py-oidc-auth server's login does (another kind of session)",
    );
  });

  it('is not when a JWT names another client, or none names one', () => {
    const both = stored({ id_token: jwt({ aud: 'app' }), access_token: jwt({ azp: 'other' }) });
    expect(legacyVerdict(both, person)).toBe('it was issued to other');
    expect(legacyVerdict(stored({ id_token: jwt({ aud: 'app', azp: 'other' }) }), person)).toBe(
      'it was issued to other',
    );
    expect(legacyVerdict(stored({ sub: 'user-1' }), person)).toBe(
      'nothing in it names the client it was issued to',
    );
  });

  it('is not when the granted scopes miss one asked for (offline_access aside), or the kind differs', () => {
    const email = sessionIdentity({ server: issuer, clientId: 'app', scope: 'openid email' });
    const granted = (scope: string) => stored({ id_token: jwt({ aud: 'app' }), scope });
    expect(legacyVerdict(granted('openid'), email)).toBe('it was not granted email');
    expect(legacyVerdict(granted('openid email'), email)).toBe(true);
    expect(legacyVerdict(granted('openid'), person)).toBe(true);
    // No scope recorded: the client decides.
    expect(legacyVerdict(granted(''), email)).toBe(true);
    const dpop = sessionIdentity({ server: issuer, clientId: 'app', dpop: true });
    expect(legacyVerdict(granted('openid'), dpop)).toBe('it holds a bearer token');
    const bound = stored({ id_token: jwt({ aud: 'app' }), token_type: 'DPoP' });
    expect(legacyVerdict(bound, person)).toBe('it holds a DPoP-bound token');
  });

  it('is never a service account’s: it fetches a token of its own', () => {
    const service = sessionIdentity({
      server: issuer,
      clientId: 'app',
      grant: 'client_credentials',
    });
    expect(legacyVerdict(stored({ access_token: jwt({ client_id: 'app' }) }), service)).toBe(
      'a service account fetches a token of its own',
    );
  });
});
