import type { createLocalJWKSet, JSONWebKeySet, JWTPayload } from 'jose';

/**
 * jose, loaded on the first ID-token check: a program holding a fresh token never pays for it
 * at start-up (it is most of what importing core would cost).
 */
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => {
  joseModule ??= import('jose');
  return joseModule;
};

import { AuthError, ErrorCode } from './errors.js';
import { type HttpAnswer, send } from './http.js';
import type { Client } from './options.js';
import { type Token, unverifiedClaims } from './token.js';

/** The claims of a verified ID token (OpenID Connect Core §2): `iss`, `sub`, `aud` and the rest. */
export interface IdTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  [claim: string]: unknown;
}

/** A token with what verifying its ID token found. */
export interface Verified {
  token: Token;
  claims?: IdTokenClaims | undefined;
  claimsError?: AuthError | undefined;
  /** The refresh's ID token names another user than the login's: these tokens are not ours. */
  otherUser?: true;
}

/** Failures of the key-set fetch that say nothing about the ID token itself. */
const unreachable: ReadonlySet<string> = new Set<string>([
  ErrorCode.SERVER_UNAVAILABLE,
  ErrorCode.TIMEOUT,
]);

/** How one ID token is checked: at receipt (lifetime too), or later from a stored token. */
export interface IdTokenCheck {
  /** When the token answer arrived (ms): `exp` and `iat` are judged at that moment. */
  receivedAt: number;
  /** The `sub` of the login this token continues (a refresh must not change the user). */
  subject?: string | undefined;
}

/** Asymmetric signatures only: an ID token signed with a shared secret or unsigned is refused. */
const algorithms: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/**
 * Issuers whose ID tokens name them another way. Google: "the value of iss in the ID token is
 * equal to accounts.google.com or https://accounts.google.com"
 * (developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken).
 */
const issuerAliases: Record<string, string[]> = {
  'https://accounts.google.com': ['https://accounts.google.com', 'accounts.google.com'],
};

/** Seconds of clock difference between us and the provider that an ID token may show. */
const clockTolerance = 120;
/** A key set is fetched again for an unknown `kid` (key rotation), at most this often. */
const refetchAfterMs = 60_000;

function rejected(issuer: string, reason: string): AuthError {
  return new AuthError(
    ErrorCode.BAD_RESPONSE,
    `The ID token from ${issuer} failed verification (${reason}); the answer may be forged, replayed or meant for another client. Run the login again; if it keeps failing, report it to the provider's operator, or pass verifyIdToken: false if this provider's ID tokens cannot be verified.`,
  );
}

/**
 * Verifies ID tokens (OpenID Connect Core §3.1.3.7, §12.2) with `jose`: the signature against
 * the provider's published keys (`jwks_uri`, fetched through the client's HTTP rules and kept;
 * fetched again for an unknown key id), `iss`, `aud` (and `azp` when there are several
 * audiences), `exp` and `iat` at the time the answer arrived, and on a refresh the same `sub`.
 * The nonce of a browser login is checked by the dialect, which knows it.
 */
export class IdTokenVerifier {
  readonly #client: Client;
  readonly #audience: string;
  #keys: { set: ReturnType<typeof createLocalJWKSet>; at: number } | undefined;
  #fetching: Promise<ReturnType<typeof createLocalJWKSet>> | undefined;

  constructor(client: Client, audience: string) {
    this.#client = client;
    this.#audience = audience;
  }

  /**
   * A login's ID token, verified as it arrives: a login whose ID token fails is refused. When
   * only the key set cannot be fetched, the login stands (its tokens are not thrown away) and
   * undefined says the ID token is still to be verified (`claims()` does it later).
   */
  async atLogin(token: Token, signal?: AbortSignal): Promise<IdTokenClaims | undefined> {
    if (!token.id_token) return undefined;
    try {
      return await this.verify(token.id_token, { receivedAt: this.#client.clock() }, signal);
    } catch (error) {
      if (error instanceof AuthError && unreachable.has(error.code)) return undefined;
      throw error;
    }
  }

  /**
   * A refresh's new ID token, verified too, and it must name the login's `sub` (kept with the
   * token; else the verified claims, else the previous ID token's). Another `sub` means these
   * tokens belong to someone else: `otherUser`, and the caller logs in again. Any other failure
   * never costs the refreshed tokens: the ID token is dropped and `claimsError` says why. When
   * the key set cannot be fetched, it stays to be verified later.
   */
  async atRefresh(
    token: Token,
    base: Token,
    known: IdTokenClaims | undefined,
    signal: AbortSignal,
  ): Promise<Verified> {
    if (!token.id_token || token.id_token === base.id_token) return { token };
    const sub = base.sub ?? known?.sub ?? (base.id_token && unverifiedClaims(base.id_token)?.sub);
    const subject = typeof sub === 'string' ? sub : undefined;
    try {
      const claims = await this.verify(
        token.id_token,
        { receivedAt: this.#client.clock() },
        signal,
      );
      if (subject !== undefined && claims.sub !== subject) {
        const { id_token: _other, ...rest } = token;
        return {
          token: rest,
          claimsError: rejected(
            this.#issuerOf(claims),
            'a refresh returned another user (sub changed)',
          ),
          otherUser: true,
        };
      }
      return { token: token.sub ? token : { ...token, sub: claims.sub }, claims };
    } catch (error) {
      if (!(error instanceof AuthError) || unreachable.has(error.code)) return { token };
      const { id_token: _refused, ...rest } = token;
      return { token: rest, claimsError: error };
    }
  }

  #issuerOf(claims: IdTokenClaims): string {
    return typeof claims.iss === 'string' ? claims.iss : 'the provider';
  }

  async verify(idToken: string, check: IdTokenCheck, signal?: AbortSignal): Promise<IdTokenClaims> {
    const metadata = await this.#client.metadata(signal);
    const issuer = metadata.issuer;
    if (!metadata.jwks_uri) {
      throw rejected(issuer, 'the discovery document names no jwks_uri');
    }
    const { jwtVerify } = await jose();
    let keys = await this.#keySet(metadata.jwks_uri, false, signal);
    for (let again = false; ; again = true) {
      try {
        const { payload } = await jwtVerify(idToken, keys, {
          issuer: issuerAliases[issuer] ?? issuer,
          audience: this.#audience,
          algorithms: [...algorithms],
          clockTolerance,
          currentDate: new Date(check.receivedAt),
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
        });
        return this.#checkClaims(payload as IdTokenClaims, check, issuer);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // The provider may have rotated its keys since we fetched them.
        if (code === 'ERR_JWKS_NO_MATCHING_KEY' && !again) {
          const fresh = await this.#keySet(metadata.jwks_uri, true, signal);
          if (fresh !== keys) {
            keys = fresh;
            continue;
          }
        }
        if (error instanceof AuthError) throw error;
        throw rejected(issuer, reasonOf(error));
      }
    }
  }

  #checkClaims(claims: IdTokenClaims, check: IdTokenCheck, issuer: string): IdTokenClaims {
    // jose checks `iat` only for being a number: one from the future (beyond the tolerance) is
    // a forged or mis-clocked token.
    if (claims.iat > check.receivedAt / 1000 + clockTolerance) {
      throw rejected(issuer, 'issued in the future (iat)');
    }
    const audiences = [claims.aud].flat();
    if (audiences.length > 1 && claims.azp !== this.#audience) {
      throw rejected(issuer, 'several audiences and no azp naming this client');
    }
    if (claims.azp !== undefined && claims.azp !== this.#audience) {
      throw rejected(issuer, 'azp names another client');
    }
    if (check.subject !== undefined && claims.sub !== check.subject) {
      throw rejected(issuer, 'a refresh returned another user (sub changed)');
    }
    return claims;
  }

  /** The provider's key set: kept, and fetched again when `refetch` and the last fetch is old. */
  async #keySet(
    uri: string,
    refetch: boolean,
    signal: AbortSignal | undefined,
  ): Promise<ReturnType<typeof createLocalJWKSet>> {
    const now = this.#client.clock();
    const kept = this.#keys;
    if (kept && !(refetch && now - kept.at >= refetchAfterMs)) return kept.set;
    const { createLocalJWKSet } = await jose();
    this.#fetching ??= send(
      this.#client.http,
      { url: uri, method: 'GET', secrets: [], what: 'key set (jwks_uri)' },
      (answer) => parseKeySet(answer, createLocalJWKSet),
      { signal },
    ).then(
      (set) => {
        this.#keys = { set, at: this.#client.clock() };
        this.#fetching = undefined;
        return set;
      },
      (error: unknown) => {
        this.#fetching = undefined;
        throw error;
      },
    );
    return this.#fetching;
  }
}

/** The verifier a client's dialect asks for (an OpenID Provider with `verifyIdToken` on), else none. */
export function verifierFor(client: Client): IdTokenVerifier | undefined {
  const audience = client.dialect.idTokenAudience;
  return audience ? new IdTokenVerifier(client, audience) : undefined;
}

function parseKeySet(
  answer: HttpAnswer,
  createLocalJWKSet: typeof import('jose').createLocalJWKSet,
): ReturnType<typeof createLocalJWKSet> {
  const body = answer.json as JSONWebKeySet | undefined;
  if (answer.status !== 200 || !body || !Array.isArray(body.keys)) {
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      `The provider's key set (jwks_uri) could not be read (HTTP ${answer.status}); ID tokens cannot be verified. Check the issuer, or report it to the provider's operator.`,
      { status: answer.status },
    );
  }
  try {
    return createLocalJWKSet(body);
  } catch {
    // jose's JWKSInvalid: typed here, as every other bad answer is.
    throw new AuthError(
      ErrorCode.BAD_RESPONSE,
      "The provider's key set (jwks_uri) is malformed; ID tokens cannot be verified. Report it to the provider's operator, or pass verifyIdToken: false.",
      { status: answer.status },
    );
  }
}

/** jose's reason, which names the claim or check and never the token. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_JWKS_NO_MATCHING_KEY') return 'signed with a key the provider does not publish';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'the signature does not match';
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') return 'not signed with a public-key algorithm';
  if (code === 'ERR_JWT_EXPIRED') return 'it had expired when it arrived';
  if (code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID') return 'it is not a signed JWT';
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/[^\x20-\x7e]/g, '').slice(0, 120);
}
