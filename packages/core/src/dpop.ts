import type { KeyObject } from 'node:crypto';
import { inspectCustom } from './env.js';
import { AuthError, ErrorCode } from './errors.js';
import { nodeCrypto } from './node-builtins.js';
import type { Token } from './token.js';

/**
 * The key a DPoP-bound token (RFC 9449) is bound to: a P-256 key pair made for each login,
 * kept with the token (as a private JWK, in the store's own protection: the token file's 0600
 * mode, Redis encryption) because the provider binds the refresh token to it too. Signs one
 * proof per request with node:crypto (ES256).
 */
export class DpopKey {
  /** The private key as a JWK, as it is stored with the token. */
  readonly jwk: JsonWebKey;
  /** RFC 7638 thumbprint of the public key: the `jkt` a bound token carries. */
  readonly thumbprint: string;
  readonly #key: KeyObject;
  readonly #header: string;

  private constructor(key: KeyObject) {
    this.#key = key;
    this.jwk = key.export({ format: 'jwk' });
    const { crv, kty, x, y } = nodeCrypto().createPublicKey(key).export({ format: 'jwk' });
    // The public half only: a proof never carries `d`.
    const publicJwk = { crv, kty, x, y };
    this.thumbprint = nodeCrypto()
      .createHash('sha256')
      .update(JSON.stringify({ crv, kty, x, y }))
      .digest('base64url');
    this.#header = encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk });
  }

  /** What logging a key shows: its thumbprint, never the private part. */
  toJSON(): object {
    return { thumbprint: this.thumbprint };
  }

  [inspectCustom](): string {
    return `DpopKey { thumbprint: '${this.thumbprint}' }`;
  }

  /** A new key pair for a new login. */
  static generate(): DpopKey {
    return new DpopKey(nodeCrypto().generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  /** The key stored with a token; undefined when it is not a private P-256 JWK. */
  static fromJwk(jwk: unknown): DpopKey | undefined {
    if (typeof jwk !== 'object' || jwk === null) return undefined;
    const { kty, crv, d } = jwk as JsonWebKey;
    if (kty !== 'EC' || crv !== 'P-256' || typeof d !== 'string') return undefined;
    try {
      return new DpopKey(nodeCrypto().createPrivateKey({ key: jwk as never, format: 'jwk' }));
    } catch {
      return undefined;
    }
  }

  /**
   * A proof for one request (RFC 9449 §4.2): `htm`, `htu` without query and fragment, `iat`,
   * a unique `jti`, the server's `nonce` when it gave one, and `ath` (the access token's hash)
   * for a resource server.
   */
  proof(method: string, url: string, options: { nonce?: string; ath?: string } = {}): string {
    const payload = encode({
      jti: nodeCrypto().randomUUID(),
      htm: method.toUpperCase(),
      htu: htu(url),
      iat: Math.floor(Date.now() / 1000),
      ...(options.nonce ? { nonce: options.nonce } : {}),
      ...(options.ath ? { ath: options.ath } : {}),
    });
    const input = `${this.#header}.${payload}`;
    const signature = nodeCrypto().sign('sha256', Buffer.from(input), {
      key: this.#key,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}

/** The `ath` of an access token: base64url(SHA-256(token)). */
export function accessTokenHash(accessToken: string): string {
  return nodeCrypto().createHash('sha256').update(accessToken).digest('base64url');
}

/**
 * `htu` as RFC 9449 §4.3 compares it (RFC 3986 §6.2.2–6.2.3 normalisation): the URL parsed,
 * so scheme and host are lower-case, a default port is dropped and dot segments resolved, and
 * its query and fragment left out.
 */
export function htu(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Longest `DPoP-Nonce` kept: a longer one would make every later request's header huge. */
const maxNonce = 1024;
/** RFC 9449 §8.1: `nonce = 1*NQCHAR` (printable ASCII but `"` and `\`). */
const nonceChars = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A server's `DPoP-Nonce`, if it is one we may send back: at most 1 KiB of NQCHARs. */
export function acceptableNonce(nonce: string | null | undefined): string | undefined {
  return typeof nonce === 'string' && nonce.length <= maxNonce && nonceChars.test(nonce)
    ? nonce
    : undefined;
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A token obtained with a proof of `key`: kept with the key (the refresh token is bound to it
 * too). A login or refresh that asked for DPoP and got another kind of token is refused: a
 * bearer token used with a DPoP key attached would mix the two (and a DPoP manager never sends
 * a bearer token). A token exchange keeps what it got.
 */
export function bindToken(
  token: Token,
  key: DpopKey | undefined,
  issuer: string,
  strict: boolean,
): Token {
  if (!key) return token;
  if (strict && !isDpopType(token.token_type)) throw notBound(issuer, token.token_type);
  return { ...token, dpop_key: key.jwk };
}

/** Is a token's type DPoP (case-insensitive, as RFC 9449 §5 and RFC 6749 §5.1 say)? */
export function isDpopType(tokenType: string): boolean {
  return tokenType.toLowerCase() === 'dpop';
}

/** A login asked for a DPoP-bound token and the provider sent another kind. */
export function notBound(issuer: string, tokenType: string): AuthError {
  return new AuthError(
    ErrorCode.BAD_RESPONSE,
    `dpop is on, but ${issuer} returned a ${JSON.stringify(tokenType)} token, not a DPoP-bound one: enable DPoP for this client at the provider, or leave dpop out.`,
  );
}

/** Headers of an answer, as any of the four clients gives them. */
export type AnswerHeaders =
  | { get(name: string): unknown }
  | Record<string, string | string[] | number | undefined>
  | undefined;

/** One header of an answer: a fetch `Headers`, axios' `AxiosHeaders`, or got's plain object. */
export function headerOf(headers: AnswerHeaders, name: string): string | undefined {
  if (!headers) return undefined;
  const value =
    typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get(name: string): unknown }).get(name)
      : (headers as Record<string, unknown>)[name];
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' ? value : undefined;
}

/**
 * A DPoP challenge about the proof, not the token (RFC 9449 §7.1): `use_dpop_nonce`, or
 * `invalid_dpop_proof`. A new proof may cure it; a refresh cannot, and would spend a refresh
 * token for nothing.
 */
export function isProofChallenge(wwwAuthenticate: string | undefined): boolean {
  // Two linear scans (a `[\s\S]*` between them backtracked quadratically on long headers);
  // both codes exist only in DPoP challenges.
  return (
    wwwAuthenticate !== undefined &&
    /\bdpop\b/i.test(wwwAuthenticate) &&
    /\berror="?(use_dpop_nonce|invalid_dpop_proof)\b/i.test(wwwAuthenticate)
  );
}
