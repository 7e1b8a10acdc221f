import { base } from '#platform/base';
import { base64, base64url, encodeJson, utf8, uuid } from '../encoding.js';
import { AuthError, ErrorCode } from '../errors.js';
import type { PreparedRequest } from '../http.js';

/** How a confidential client authenticates, as `OidcOptions` names it. */
export interface ClientCredentialsOptions {
  clientId: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientAssertionKey?: ClientAssertionKey;
}

/**
 * How a confidential client proves itself on each request: HTTP Basic with the
 * form-urlencoded id and secret, or both as form fields (RFC 6749 §2.3.1), or a signed JWT
 * (RFC 7523). The secret, the Basic value and each assertion are marked secret, so no error
 * or log shows them. Undefined for a public client.
 */
export function clientAuthentication(
  options: ClientCredentialsOptions,
): ((request: PreparedRequest) => PreparedRequest) | undefined {
  const { clientSecret, clientAssertionKey } = options;
  const tokenEndpointAuthMethod =
    options.tokenEndpointAuthMethod ??
    (clientAssertionKey ? 'private_key_jwt' : 'client_secret_basic');
  if (tokenEndpointAuthMethod === 'private_key_jwt' || clientAssertionKey) {
    if (!clientAssertionKey || tokenEndpointAuthMethod !== 'private_key_jwt') {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'private_key_jwt goes with clientAssertionKey: pass both (or leave tokenEndpointAuthMethod out).',
      );
    }
    const assertion = assertionSigner(options.clientId, clientAssertionKey);
    // A new assertion for every HTTP attempt (device polls, nonce and transient retries): its
    // `jti` may be used once (RFC 7523 §3), and providers such as oidc-provider hold to that.
    return (request) => ({
      ...request,
      sign: async (url) => ({
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(url),
      }),
    });
  }
  if (clientSecret === undefined) return undefined;
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, 'clientSecret must be a non-empty string.');
  }
  if (tokenEndpointAuthMethod === 'client_secret_post') {
    return (request) => ({
      ...request,
      form: { ...request.form, client_secret: clientSecret },
      secrets: [...request.secrets, clientSecret],
    });
  }
  if (tokenEndpointAuthMethod !== 'client_secret_basic') {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      "tokenEndpointAuthMethod must be 'client_secret_basic', 'client_secret_post' or 'private_key_jwt'.",
    );
  }
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  const basic = base64(`${encode(options.clientId)}:${encode(clientSecret)}`);
  // Providers that do not form-decode Basic credentials refuse such a secret as invalid_client.
  const changed =
    encode(clientSecret) !== clientSecret || encode(options.clientId) !== options.clientId;
  const note = changed
    ? "The client secret (or id) has characters that client_secret_basic form-encodes before Base64, as RFC 6749 §2.3.1 says, and some providers do not decode them: if the secret is right, pass tokenEndpointAuthMethod: 'client_secret_post'."
    : undefined;
  return (request) => ({
    ...request,
    headers: { ...request.headers, authorization: `Basic ${basic}` },
    secrets: [...request.secrets, clientSecret, basic],
    ...(note ? { refusedClientNote: note } : {}),
  });
}

/** A node:crypto private `KeyObject`, described without Node's types (our .d.ts need none). */
export interface PrivateKeyLike {
  /** `'private'` for a private key. */
  readonly type: string;
  readonly asymmetricKeyType?: string | undefined;
}

/** A private key for `private_key_jwt` client authentication. */
export interface ClientAssertionKey {
  /**
   * A PKCS#8 PEM string (`BEGIN PRIVATE KEY`), a private JWK, or a WebCrypto `CryptoKey`
   * (private, with the `sign` usage; non-extractable is fine) on every runtime; on Node also a
   * node:crypto `KeyObject` and the other PEM kinds (PKCS#1, SEC1).
   */
  key: PrivateKeyLike | string | JsonWebKey | CryptoKey;
  kid?: string;
  alg?: 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
}

type KeyType = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'other';
type Algorithm = NonNullable<ClientAssertionKey['alg']>;

const importParams: Record<
  Algorithm,
  RsaHashedImportParams | EcKeyImportParams | { name: string }
> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
};
const signParams: Record<Algorithm, AlgorithmIdentifier | RsaPssParams | EcdsaParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  PS256: { name: 'RSA-PSS', saltLength: 32 },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
};

const badKey = () =>
  new AuthError(
    ErrorCode.INVALID_OPTIONS,
    'clientAssertionKey.key must be a private key: a PKCS#8 PEM string, a private JWK or a CryptoKey (on Node also a KeyObject or a PKCS#1/SEC1 PEM).',
  );

/** Does `bytes` contain `oid` (DER-encoded, tag and length included)? */
function hasOid(bytes: Uint8Array, oid: readonly number[]): boolean {
  outer: for (let i = 0; i + oid.length <= bytes.length; i++) {
    for (let j = 0; j < oid.length; j++) if (bytes[i + j] !== oid[j]) continue outer;
    return true;
  }
  return false;
}

/** The kind of a PKCS#8 key, read from its AlgorithmIdentifier OIDs. */
export function pkcs8Type(der: Uint8Array): { type: KeyType; p256: boolean } {
  const rsa = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
  if (hasOid(der, [...rsa, 0x01])) return { type: 'rsa', p256: false };
  if (hasOid(der, [...rsa, 0x0a])) return { type: 'rsa-pss', p256: false };
  if (hasOid(der, [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])) {
    const p256 = hasOid(der, [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    return { type: 'ec', p256 };
  }
  if (hasOid(der, [0x06, 0x03, 0x2b, 0x65, 0x70])) return { type: 'ed25519', p256: false };
  return { type: 'other', p256: false };
}

function isCryptoKey(key: object): key is CryptoKey {
  return (
    typeof (key as CryptoKey).algorithm === 'object' &&
    Array.isArray((key as CryptoKey).usages) &&
    typeof (key as CryptoKey).extractable === 'boolean'
  );
}

/** What the key is, judged synchronously (so a wrong key is refused when the manager is made). */
function describe(key: ClientAssertionKey['key']): {
  type: KeyType;
  p256: boolean;
  load: (algorithm: Algorithm) => Promise<CryptoKey>;
} {
  if (typeof key === 'object' && key !== null && isCryptoKey(key)) {
    const { name, namedCurve } = key.algorithm as EcKeyAlgorithm;
    if (key.type !== 'private' || !key.usages.includes('sign')) throw badKey();
    const type: KeyType =
      name === 'RSASSA-PKCS1-v1_5'
        ? 'rsa'
        : name === 'RSA-PSS'
          ? 'rsa-pss'
          : name === 'ECDSA'
            ? 'ec'
            : name === 'Ed25519'
              ? 'ed25519'
              : 'other';
    return { type, p256: namedCurve === 'P-256', load: async () => key };
  }
  if (typeof key === 'object' && key !== null && !('asymmetricKeyType' in key)) {
    const jwk = key as JsonWebKey;
    if (typeof jwk.d !== 'string') throw badKey();
    const type: KeyType =
      jwk.kty === 'RSA'
        ? 'rsa'
        : jwk.kty === 'EC'
          ? 'ec'
          : jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
            ? 'ed25519'
            : 'other';
    const { alg: _alg, key_ops: _ops, use: _use, ...bare } = jwk;
    return {
      type,
      p256: jwk.crv === 'P-256',
      load: (algorithm) =>
        crypto.subtle.importKey('jwk', bare, importParams[algorithm], false, ['sign']),
    };
  }
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = base.pkcs8(key);
  } catch {
    throw badKey();
  }
  return {
    ...pkcs8Type(der),
    load: (algorithm) =>
      crypto.subtle.importKey('pkcs8', der, importParams[algorithm], false, ['sign']),
  };
}

/** Signs client assertions (RFC 7523 §2.2) with WebCrypto: no JOSE library needed. */
function assertionSigner(
  clientId: string,
  { key, kid, alg }: ClientAssertionKey,
): (audience: string) => Promise<string> {
  const { type, p256, load } = describe(key);
  const algorithm: Algorithm | undefined =
    alg ??
    (type === 'rsa'
      ? 'RS256'
      : type === 'rsa-pss'
        ? 'PS256'
        : type === 'ec'
          ? 'ES256'
          : type === 'ed25519'
            ? 'EdDSA'
            : undefined);
  const fits =
    (algorithm === 'RS256' && type === 'rsa') ||
    (algorithm === 'PS256' && (type === 'rsa' || type === 'rsa-pss')) ||
    (algorithm === 'ES256' && type === 'ec' && p256) ||
    (algorithm === 'EdDSA' && type === 'ed25519');
  if (!algorithm || !fits) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `clientAssertionKey: a ${type === 'other' ? 'key of another kind' : `${type} key`} cannot sign ${algorithm ?? 'any supported algorithm'}; use RSA (RS256, PS256), P-256 (ES256) or Ed25519 (EdDSA).`,
    );
  }
  let loaded: Promise<CryptoKey> | undefined;
  const header = encodeJson({ alg: algorithm, typ: 'JWT', ...(kid ? { kid } : {}) });
  return async (audience) => {
    loaded ??= load(algorithm).catch((cause: unknown) => {
      loaded = undefined;
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        `clientAssertionKey: the key cannot be used for ${algorithm} here (${(cause as Error)?.name ?? 'error'}): check that it is a private ${algorithm} key.`,
      );
    });
    const now = Math.floor(Date.now() / 1000);
    const payload = encodeJson({
      iss: clientId,
      sub: clientId,
      aud: audience,
      jti: uuid(),
      iat: now,
      exp: now + 60,
    });
    const input = `${header}.${payload}`;
    const signature = await crypto.subtle.sign(signParams[algorithm], await loaded, utf8(input));
    return `${input}.${base64url(signature)}`;
  };
}
