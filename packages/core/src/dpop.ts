import { base } from '#platform/base';
import { base64url, encodeJson, sha256, utf8, uuid } from './encoding.js';
import { inspectCustom } from './env.js';
import { AuthError, ErrorCode } from './errors.js';
import type { Token } from './token.js';
import { printable } from './urls.js';

const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * The key a DPoP-bound token (RFC 9449) is bound to: a P-256 key pair made for each login
 * (WebCrypto, so it works on every runtime). It is kept with the token because the provider
 * binds the refresh token to it too: on a server as a private JWK in the store's own protection
 * (the token file's 0600 mode, Redis encryption); in a browser as a **non-extractable**
 * `CryptoKey` in IndexedDB, never exported: the token then holds only the public key and its
 * thumbprint (`kid`). Signs one proof per request (ES256).
 */
export class DpopKey {
  /**
   * What is stored with the token: the private JWK of an extractable key; the public JWK and
   * its thumbprint as `kid` for a non-extractable one (its private half stays in the keyring).
   */
  readonly jwk: JsonWebKey;
  /** RFC 7638 thumbprint of the public key: the `jkt` a bound token carries. */
  readonly thumbprint: string;
  /** Whether the private key can be exported (false for a browser's keys). */
  readonly extractable: boolean;
  /** The key pair: the private key signs; proofs carry the public one. */
  readonly keyPair: CryptoKeyPair;
  readonly #header: string;

  private constructor(
    pair: CryptoKeyPair,
    jwk: JsonWebKey,
    publicJwk: JsonWebKey,
    thumbprint: string,
  ) {
    this.keyPair = pair;
    this.jwk = jwk;
    this.thumbprint = thumbprint;
    this.extractable = pair.privateKey.extractable;
    this.#header = encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk });
  }

  /** What logging a key shows: its thumbprint, never the private part. */
  toJSON(): object {
    return { thumbprint: this.thumbprint };
  }

  [inspectCustom](): string {
    return `DpopKey { thumbprint: '${this.thumbprint}' }`;
  }

  /**
   * A new key pair for a new login: extractable (stored as a JWK with the token) unless
   * `extractable: false` (a browser's key, kept as a `CryptoKey`).
   */
  static async generate(options: { extractable?: boolean } = {}): Promise<DpopKey> {
    const pair = (await crypto.subtle.generateKey(algorithm, options.extractable ?? true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    return DpopKey.fromKeyPair(pair);
  }

  /** A key pair kept as `CryptoKey`s (a browser's IndexedDB keyring). */
  static async fromKeyPair(pair: CryptoKeyPair): Promise<DpopKey> {
    const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
    // The public half only: a proof never carries `d`. RFC 7638 orders the members.
    const publicJwk = { crv, kty, x, y } as JsonWebKey;
    const thumbprint = await sha256(JSON.stringify(publicJwk));
    const jwk = pair.privateKey.extractable
      ? await crypto.subtle.exportKey('jwk', pair.privateKey)
      : ({ ...publicJwk, kid: thumbprint } as JsonWebKey);
    return new DpopKey(pair, jwk, publicJwk, thumbprint);
  }

  /** The key stored with a token; undefined when it is not a private P-256 JWK. */
  static async fromJwk(jwk: unknown): Promise<DpopKey | undefined> {
    if (typeof jwk !== 'object' || jwk === null) return undefined;
    const { kty, crv, d, x, y } = jwk as JsonWebKey;
    if (kty !== 'EC' || crv !== 'P-256' || typeof d !== 'string') return undefined;
    try {
      const privateKey = await crypto.subtle.importKey(
        'jwk',
        { kty, crv, d, x, y } as JsonWebKey,
        algorithm,
        true,
        ['sign'],
      );
      const publicKey = await crypto.subtle.importKey(
        'jwk',
        { kty, crv, x, y } as JsonWebKey,
        algorithm,
        true,
        ['verify'],
      );
      return await DpopKey.fromKeyPair({ privateKey, publicKey });
    } catch {
      return undefined;
    }
  }

  /**
   * A proof for one request (RFC 9449 §4.2): `htm`, `htu` without query and fragment, `iat`,
   * a unique `jti`, the server's `nonce` when it gave one, and `ath` (the access token's hash)
   * for a resource server.
   */
  async proof(
    method: string,
    url: string,
    options: { nonce?: string; ath?: string } = {},
  ): Promise<string> {
    const payload = encodeJson({
      jti: uuid(),
      htm: method.toUpperCase(),
      htu: htu(url),
      iat: Math.floor(Date.now() / 1000),
      ...(options.nonce ? { nonce: options.nonce } : {}),
      ...(options.ath ? { ath: options.ath } : {}),
    });
    const input = `${this.#header}.${payload}`;
    const { privateKey } = this.keyPair;
    const signature = base.signEs256
      ? base.signEs256(privateKey, utf8(input))
      : await crypto.subtle.sign(signing, privateKey, utf8(input));
    return `${input}.${base64url(signature)}`;
  }
}

/**
 * The thumbprint a stored non-extractable key is kept under in the keyring: the `kid` of a
 * public JWK (no `d`) stored with a token; undefined for a private JWK.
 */
export function keyringId(jwk: unknown): string | undefined {
  if (typeof jwk !== 'object' || jwk === null) return undefined;
  const { d, kid } = jwk as JsonWebKey & { kid?: unknown };
  return d === undefined && typeof kid === 'string' && kid !== '' ? kid : undefined;
}

/**
 * What identifies a token's stored DPoP key, judged by its shape alone (synchronously): the
 * private part `d` of a private P-256 JWK, or the keyring id of a non-extractable key;
 * undefined when the token carries no usable key.
 */
export function keyShape(jwk: unknown): string | undefined {
  if (typeof jwk !== 'object' || jwk === null) return undefined;
  const { kty, crv, d, x, y } = jwk as JsonWebKey;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') {
    return undefined;
  }
  if (typeof d === 'string' && d !== '') return d;
  const id = keyringId(jwk);
  return id && base.keyring ? `keyring:${id}` : undefined;
}

/** The key stored with a token: imported from its JWK, or taken from the keyring. */
export async function storedKey(jwk: unknown): Promise<DpopKey | undefined> {
  const id = keyringId(jwk);
  if (id === undefined) return DpopKey.fromJwk(jwk);
  const pair = await base.keyring?.get(id).catch(() => undefined);
  return pair ? DpopKey.fromKeyPair(pair) : undefined;
}

/**
 * A key for a new login: non-extractable and kept in the keyring where the platform has one
 * (a browser), else extractable, to be stored as a JWK with the token.
 */
export async function loginKey(): Promise<DpopKey> {
  const keyring = base.keyring;
  const key = await DpopKey.generate({ extractable: keyring === undefined });
  if (keyring) await keyring.put(key.thumbprint, key.keyPair);
  return key;
}

/** A DPoP token whose key cannot be read (gone from the keyring, or unreadable). */
export function keyGone(host: string): AuthError {
  return new AuthError(
    ErrorCode.LOGIN_REQUIRED,
    `The DPoP key of the token for ${host} is gone or unreadable (site data cleared, or a damaged store), so the token cannot be used: log in again.`,
  );
}

/** The `ath` of an access token: base64url(SHA-256(token)). */
export function accessTokenHash(accessToken: string): Promise<string> {
  return sha256(accessToken);
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
    `dpop is on, but ${issuer} returned a ${JSON.stringify(printable(tokenType).slice(0, 20))} token, not a DPoP-bound one: the provider does not support DPoP (RFC 9449), or not for this client. Enable DPoP for this client at the provider, or leave dpop out.`,
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
