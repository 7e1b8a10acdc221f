import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';

/** A JSON Web Key as published (kept free of Node's types: the package's types need none). */
export type Jwk = { [member: string]: unknown };

function encode(part: unknown): string {
  return Buffer.from(JSON.stringify(part)).toString('base64url');
}

function decode(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The RFC 7638 thumbprint of an EC P-256 public key. */
export function thumbprint(jwk: { crv?: unknown; x?: unknown; y?: unknown }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The server's signing key (ES256, made at start), which signs ID and access tokens. */
export class SigningKey {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly kid = randomBytes(8).toString('base64url');
  readonly publicJwk: Jwk;

  constructor() {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = pair.privateKey;
    this.#publicKey = pair.publicKey;
    this.publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: this.kid };
  }

  /** The key set served at `jwks_uri`. */
  jwks(): { keys: Jwk[] } {
    return { keys: [{ ...this.publicJwk, use: 'sig', alg: 'ES256' }] };
  }

  /** The claims of a JWT this key signed, or undefined. */
  verify(jwt: string): Record<string, unknown> | undefined {
    const [head, body, signature] = jwt.split('.');
    if (!head || !body || !signature) return undefined;
    const valid = verify(
      'sha256',
      Buffer.from(`${head}.${body}`),
      { key: this.#publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    return valid ? decode(body) : undefined;
  }

  sign(claims: Record<string, unknown>, typ = 'JWT'): string {
    const input = `${encode({ alg: 'ES256', typ, kid: this.kid })}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: this.#privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}

/** What a DPoP proof must match: the request, and for a resource the token it comes with. */
export interface ProofCheck {
  method: string;
  url: string;
  /** The access token the proof must name (`ath`), at a resource. */
  accessToken?: string | undefined;
  /** The nonce the server asked for, when it asks for one. */
  nonce?: string | undefined;
  now: number;
}

/**
 * Checks a DPoP proof (RFC 9449 §4.3) signed with ES256 by the key in its header: the request's
 * method and URL, a fresh `iat`, a `jti` not seen before, the token's hash. Returns the key's
 * thumbprint, or why the proof is refused.
 */
export function checkProof(
  proof: string,
  check: ProofCheck,
  seen: Set<string>,
): { jkt: string } | { error: string } {
  const [head, body, signature] = proof.split('.');
  const header = decode(head);
  const claims = decode(body);
  if (!header || !claims || !signature) return { error: 'the DPoP proof is not a JWT' };
  if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256') {
    return { error: 'the DPoP proof must be typ dpop+jwt, signed ES256' };
  }
  const jwk = header.jwk as Jwk | undefined;
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) {
    return { error: 'the DPoP proof carries no public P-256 key' };
  }
  const valid = verify(
    'sha256',
    Buffer.from(`${head}.${body}`),
    { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) return { error: 'the DPoP proof signature is invalid' };
  const target = new URL(check.url);
  target.search = '';
  target.hash = '';
  if (claims.htm !== check.method || claims.htu !== target.href) {
    return { error: 'the DPoP proof names another request (htm, htu)' };
  }
  if (typeof claims.iat !== 'number' || Math.abs(claims.iat - check.now / 1000) > 300) {
    return { error: 'the DPoP proof is not fresh (iat)' };
  }
  if (typeof claims.jti !== 'string' || seen.has(claims.jti)) {
    return { error: 'the DPoP proof was used before (jti)' };
  }
  if (check.nonce !== undefined && claims.nonce !== check.nonce) return { error: 'nonce' };
  if (check.accessToken !== undefined) {
    const ath = createHash('sha256').update(check.accessToken).digest('base64url');
    if (claims.ath !== ath) return { error: 'the DPoP proof names another access token (ath)' };
  }
  seen.add(claims.jti);
  return { jkt: thumbprint(jwk) };
}
