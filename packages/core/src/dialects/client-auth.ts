import type { KeyObject } from 'node:crypto';
import { AuthError, ErrorCode } from '../errors.js';
import type { PreparedRequest } from '../http.js';
import { nodeCrypto } from '../node-builtins.js';

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
      sign: (url) => ({
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion(url),
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
  const basic = Buffer.from(`${encode(options.clientId)}:${encode(clientSecret)}`).toString(
    'base64',
  );
  return (request) => ({
    ...request,
    headers: { ...request.headers, authorization: `Basic ${basic}` },
    secrets: [...request.secrets, clientSecret, basic],
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
  /** A node:crypto `KeyObject` (private), a PEM string, or a private JWK. */
  key: PrivateKeyLike | string | JsonWebKey;
  kid?: string;
  alg?: 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
}

/** Signs client assertions (RFC 7523 §2.2) with node:crypto: no JOSE library needed. */
function assertionSigner(
  clientId: string,
  { key, kid, alg }: ClientAssertionKey,
): (audience: string) => string {
  let privateKey: KeyObject;
  try {
    privateKey =
      typeof key === 'string'
        ? nodeCrypto().createPrivateKey(key)
        : 'asymmetricKeyType' in key && (key as PrivateKeyLike).type === 'private'
          ? (key as unknown as KeyObject)
          : nodeCrypto().createPrivateKey({ key: key as never, format: 'jwk' });
  } catch {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      'clientAssertionKey.key must be a private key: a KeyObject, a PEM string or a private JWK.',
    );
  }
  const type = privateKey.asymmetricKeyType;
  const algorithm =
    alg ??
    (type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : type === 'ed25519' ? 'EdDSA' : undefined);
  const fits =
    (algorithm === 'RS256' && type === 'rsa') ||
    (algorithm === 'PS256' && (type === 'rsa' || type === 'rsa-pss')) ||
    (algorithm === 'ES256' &&
      type === 'ec' &&
      privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') ||
    (algorithm === 'EdDSA' && type === 'ed25519');
  if (!algorithm || !fits) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `clientAssertionKey: a ${String(type)} key cannot sign ${algorithm ?? 'any supported algorithm'}; use RSA (RS256, PS256), P-256 (ES256) or Ed25519 (EdDSA).`,
    );
  }
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: algorithm, typ: 'JWT', ...(kid ? { kid } : {}) });
  return (audience) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = encode({
      iss: clientId,
      sub: clientId,
      aud: audience,
      jti: nodeCrypto().randomUUID(),
      iat: now,
      exp: now + 60,
    });
    const input = Buffer.from(`${header}.${payload}`);
    const signature =
      algorithm === 'EdDSA'
        ? nodeCrypto().sign(null, input, privateKey)
        : nodeCrypto().sign('sha256', input, {
            key: privateKey,
            ...(algorithm === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
            ...(algorithm === 'PS256'
              ? { padding: nodeCrypto().constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
              : {}),
          });
    return `${header}.${payload}.${signature.toString('base64url')}`;
  };
}
