import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { MockServerConfig } from './options.js';

/** The token answer of a py-oidc-auth server: absolute expiry times in Unix seconds. */
export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires: number;
  refresh_token?: string;
  refresh_expires: number;
  scope: string;
}

/** An RFC 6749 / RFC 8628 error code with its description. */
export interface OAuthError {
  error: string;
  error_description: string;
}

/** Who a grant belongs to at a standard OpenID Provider: the client, what it asked, its DPoP key. */
export interface GrantBinding {
  clientId?: string | undefined;
  scope?: string | undefined;
  /** The thumbprint of the DPoP key the tokens are bound to. */
  jkt?: string | undefined;
  /** The `nonce` of the authorization request, for the ID token. */
  nonce?: string | undefined;
}

interface DeviceGrant {
  binding: GrantBinding;
  deviceCode: string;
  userCode: string;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied' | 'used';
  polls: number;
}

/** One login: the tokens issued from it, rotated and revoked together. */
export interface Family {
  id: number;
  revoked: boolean;
  subject: string;
  scope: string;
  /** The client it was issued to (a standard OpenID Provider's grants), and its DPoP key. */
  clientId?: string | undefined;
  jkt?: string | undefined;
  /** Seconds since the epoch when the user logged in. */
  authTime: number;
}

export interface AccessRecord {
  family: Family;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshRecord {
  family: Family;
  expiresAt: number;
  revoked: boolean;
  rotated: boolean;
}

interface CodeGrant {
  binding: GrantBinding;
  redirectUri: string;
  challenge: string;
  expiresAt: number;
}

const userCodeAlphabet = 'BCDFGHJKLMNPQRSTVWXZ';

function opaque(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

function userCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) {
    if (i === 4) code += '-';
    code += userCodeAlphabet[randomInt(userCodeAlphabet.length)];
  }
  return code;
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** What happened to a device-code poll, a refresh or a code exchange. */
export type GrantResult =
  | { ok: true; token: TokenAnswer; family: Family; binding: GrantBinding }
  | { ok: false; error: OAuthError };

/** Mints the access token of a family (a JWT at a standard OpenID Provider; else opaque). */
export type MintAccess = (family: Family, expiresAt: number) => string;

/** What a standard OpenID Provider checks when a grant is used: the same client, the same key. */
export interface GrantUse {
  clientId?: string | undefined;
  jkt?: string | undefined;
}

function misused(binding: GrantBinding, use: GrantUse | undefined): GrantResult | undefined {
  if (use === undefined) return undefined;
  if (binding.clientId !== undefined && binding.clientId !== use.clientId) {
    return fail('invalid_grant', 'The grant was issued to another client');
  }
  if (binding.jkt !== undefined && binding.jkt !== use.jkt) {
    return fail('invalid_grant', 'The grant is bound to another DPoP key');
  }
  return undefined;
}

function fail(error: string, error_description: string): GrantResult {
  return { ok: false, error: { error, error_description } };
}

/**
 * The identity provider the mock plays: device codes, token families with rotation and reuse
 * detection, authorization codes with PKCE. All times are milliseconds from `clock`.
 */
export class MockIdp {
  private readonly devices = new Map<string, DeviceGrant>();
  private readonly byUserCode = new Map<string, DeviceGrant>();
  private readonly access = new Map<string, AccessRecord>();
  private readonly refresh = new Map<string, RefreshRecord>();
  private readonly codes = new Map<string, CodeGrant>();
  private families = 0;
  readonly counters = { reuseDetected: 0, deviceCodesIssued: 0, pollsAfterApproval: 0 };

  constructor(
    private readonly settings: { current: MockServerConfig },
    private readonly clock: () => number,
  ) {}

  startDevice(binding: GrantBinding = {}): DeviceGrant {
    const grant: DeviceGrant = {
      binding,
      deviceCode: opaque('dc_'),
      userCode: userCode(),
      expiresAt: this.clock() + this.settings.current.deviceExpiresIn * 1000,
      state: 'pending',
      polls: 0,
    };
    this.devices.set(grant.deviceCode, grant);
    this.byUserCode.set(grant.userCode, grant);
    this.counters.deviceCodesIssued++;
    return grant;
  }

  /** Approves or denies a pending user code; false when there is no such pending code. */
  decide(code: string, decision: 'approved' | 'denied'): boolean {
    const grant = this.byUserCode.get(code.trim().toUpperCase());
    if (grant?.state !== 'pending' || grant.expiresAt <= this.clock()) return false;
    grant.state = decision;
    return true;
  }

  /** Approves every pending device code; returns how many. */
  approveAll(): number {
    let count = 0;
    for (const grant of this.devices.values()) {
      if (this.decide(grant.userCode, 'approved')) count++;
    }
    return count;
  }

  pendingUserCodes(): string[] {
    const now = this.clock();
    return [...this.devices.values()]
      .filter((g) => g.state === 'pending' && g.expiresAt > now)
      .map((g) => g.userCode);
  }

  isPendingUserCode(code: string): boolean {
    return this.pendingUserCodes().includes(code.trim().toUpperCase());
  }

  pollDevice(deviceCode: string, use?: GrantUse, mint?: MintAccess): GrantResult {
    const grant = this.devices.get(deviceCode);
    if (!grant || grant.state === 'used') return fail('invalid_grant', 'Device code not valid');
    const wrong = misused({ clientId: grant.binding.clientId }, use);
    if (wrong) return wrong;
    grant.polls++;
    if (grant.expiresAt <= this.clock()) return fail('expired_token', 'Device code is expired');
    const config = this.settings.current;
    if (grant.state === 'pending' && config.slowDown > 0) {
      this.settings.current = { ...config, slowDown: config.slowDown - 1 };
      return fail('slow_down', 'Polling too fast');
    }
    if (
      grant.state === 'pending' &&
      config.autoApprove !== false &&
      grant.polls > config.autoApprove
    ) {
      grant.state = 'approved';
    }
    switch (grant.state) {
      case 'pending':
        return fail('authorization_pending', 'The authorization request is still pending');
      case 'denied':
        grant.state = 'used';
        return fail('access_denied', 'The end user denied the authorization request');
      default:
        this.counters.pollsAfterApproval++;
        grant.state = 'used';
        return this.granted({ ...grant.binding, jkt: use?.jkt }, mint);
    }
  }

  refreshGrant(refreshToken: string, use?: GrantUse, mint?: MintAccess): GrantResult {
    const record = this.refresh.get(refreshToken);
    if (!record || record.revoked || record.family.revoked) {
      return fail('invalid_grant', 'Token is not active');
    }
    const { family } = record;
    const wrong = misused({ clientId: family.clientId, jkt: family.jkt }, use);
    if (wrong) return wrong;
    if (record.expiresAt <= this.clock()) return fail('invalid_grant', 'Token is not active');
    const config = this.settings.current;
    if (record.rotated) {
      if (config.reuseDetection) {
        this.counters.reuseDetected++;
        this.revokeFamily(record.family);
      }
      return fail('invalid_grant', 'Maximum allowed refresh token reuse exceeded');
    }
    const binding = { clientId: family.clientId, jkt: family.jkt, scope: family.scope };
    if (!config.rotation) {
      const keep = { refreshToken, expiresAt: record.expiresAt };
      const token = this.issue(family, keep, {}, mint);
      return { ok: true, token: this.maybeOmitRefresh(token), family, binding };
    }
    record.rotated = true;
    const token = this.maybeOmitRefresh(this.issue(family, undefined, {}, mint));
    return { ok: true, token, family, binding };
  }

  /** A new login's tokens, as a grant's answer. */
  granted(
    binding: GrantBinding,
    mint?: MintAccess,
    noRefresh = false,
    subject?: string,
  ): GrantResult {
    const family = this.family(binding, subject);
    const token = this.issue(family, undefined, {}, mint);
    if (!noRefresh) return { ok: true, token, family, binding };
    const { refresh_token: _, ...access } = token;
    return { ok: true, token: access, family, binding };
  }

  private family(binding: GrantBinding, subject?: string): Family {
    const config = this.settings.current;
    return {
      id: ++this.families,
      revoked: false,
      subject: subject ?? config.subject,
      scope: binding.scope ?? config.scope,
      clientId: binding.clientId,
      jkt: binding.jkt,
      authTime: Math.floor(this.clock() / 1000),
    };
  }

  private maybeOmitRefresh(token: TokenAnswer): TokenAnswer {
    if (!this.settings.current.omitRefreshTokenOnRefresh) return token;
    const { refresh_token: _, ...rest } = token;
    return rest;
  }

  /** Starts an authorization-code grant; returns the code. */
  startCode(redirectUri: string, challenge: string, binding: GrantBinding = {}): string {
    const code = opaque('ac_');
    this.codes.set(code, { binding, redirectUri, challenge, expiresAt: this.clock() + 60_000 });
    return code;
  }

  exchangeCode(
    code: string,
    redirectUri: string,
    verifier: string,
    use?: GrantUse,
    mint?: MintAccess,
  ): GrantResult {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    if (!grant || grant.expiresAt <= this.clock()) return fail('invalid_grant', 'Code not valid');
    // A code bound to a key at the authorization request (dpop_jkt) needs that key; a code
    // without one takes the key its exchange proves.
    const wrong = misused(grant.binding, use);
    if (wrong) return wrong;
    if (grant.redirectUri !== redirectUri) return fail('invalid_grant', 'Incorrect redirect_uri');
    if (s256(verifier) !== grant.challenge) {
      return fail('invalid_grant', 'PKCE verification failed: Code mismatch');
    }
    return this.granted({ ...grant.binding, jkt: grant.binding.jkt ?? use?.jkt }, mint);
  }

  /** Issues a fresh token family (a new login). */
  issue(
    family?: Family,
    keep?: { refreshToken: string; expiresAt: number },
    overrides: { scope?: string | undefined; subject?: string } = {},
    mint?: MintAccess,
  ): TokenAnswer {
    const config = this.settings.current;
    const now = this.clock();
    const fam = family ?? this.family({ scope: overrides.scope }, overrides.subject);
    const accessExpires = now + config.accessTtl * 1000;
    const accessToken = mint ? mint(fam, accessExpires) : opaque('at_');
    this.access.set(accessToken, { family: fam, expiresAt: accessExpires, revoked: false });
    let refreshToken = keep?.refreshToken;
    let refreshExpires = keep?.expiresAt;
    if (refreshToken === undefined || refreshExpires === undefined) {
      refreshToken = opaque('rt_');
      refreshExpires = now + config.refreshTtl * 1000;
      this.refresh.set(refreshToken, {
        family: fam,
        expiresAt: refreshExpires,
        revoked: false,
        rotated: false,
      });
    }
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires: Math.floor(accessExpires / 1000),
      refresh_token: refreshToken,
      refresh_expires: Math.floor(refreshExpires / 1000),
      scope: fam.scope,
    };
  }

  /** The subject, scopes and DPoP key of a valid access token; undefined when not valid. */
  validate(accessToken: string): { subject: string; scope: string; jkt?: string } | undefined {
    const record = this.access.get(accessToken);
    if (!record || record.revoked || record.family.revoked) return undefined;
    if (record.expiresAt <= this.clock()) return undefined;
    const { subject, scope, jkt } = record.family;
    return jkt === undefined ? { subject, scope } : { subject, scope, jkt };
  }

  /**
   * Revokes a token (RFC 7009) of `clientId`: a refresh token ends its whole login, an access
   * token only itself. Unknown tokens and other clients' tokens are left alone, as the RFC says.
   */
  revokeToken(token: string, clientId: string | undefined): boolean {
    const refresh = this.refresh.get(token);
    if (refresh && refresh.family.clientId === clientId) {
      this.revokeFamily(refresh.family);
      return true;
    }
    const access = this.access.get(token);
    if (access && access.family.clientId === clientId) {
      access.revoked = true;
      return true;
    }
    return false;
  }

  revokeAll(keepRefresh: boolean): void {
    for (const record of this.access.values()) record.revoked = true;
    if (!keepRefresh) for (const record of this.refresh.values()) record.revoked = true;
  }

  /** RP-initiated logout: ends the login an ID token of ours names (its `sid`). */
  endLogin(
    idToken: string,
    key: { verify(jwt: string): Record<string, unknown> | undefined },
  ): void {
    const sid = key.verify(idToken)?.sid;
    for (const record of this.refresh.values()) {
      if (`login-${record.family.id}` === sid) this.revokeFamily(record.family);
    }
  }

  private revokeFamily(family: Family): void {
    family.revoked = true;
  }

  reset(): void {
    this.devices.clear();
    this.byUserCode.clear();
    this.access.clear();
    this.refresh.clear();
    this.codes.clear();
    this.resetCounters();
  }

  resetCounters(): void {
    this.counters.reuseDetected = 0;
    this.counters.deviceCodesIssued = 0;
    this.counters.pollsAfterApproval = 0;
  }
}
