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

interface DeviceGrant {
  deviceCode: string;
  userCode: string;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied' | 'used';
  polls: number;
}

interface Family {
  id: number;
  revoked: boolean;
  subject: string;
  scope: string;
}

interface AccessRecord {
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
export type GrantResult = { ok: true; token: TokenAnswer } | { ok: false; error: OAuthError };

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

  startDevice(): DeviceGrant {
    const grant: DeviceGrant = {
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

  pollDevice(deviceCode: string): GrantResult {
    const grant = this.devices.get(deviceCode);
    if (!grant || grant.state === 'used') return fail('invalid_grant', 'Device code not valid');
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
        return { ok: true, token: this.issue() };
    }
  }

  refreshGrant(refreshToken: string): GrantResult {
    const record = this.refresh.get(refreshToken);
    if (!record || record.revoked || record.family.revoked) {
      return fail('invalid_grant', 'Token is not active');
    }
    if (record.expiresAt <= this.clock()) return fail('invalid_grant', 'Token is not active');
    const config = this.settings.current;
    if (record.rotated) {
      if (config.reuseDetection) {
        this.counters.reuseDetected++;
        this.revokeFamily(record.family);
      }
      return fail('invalid_grant', 'Maximum allowed refresh token reuse exceeded');
    }
    if (!config.rotation) {
      const token = this.issue(record.family, { refreshToken, expiresAt: record.expiresAt });
      return { ok: true, token: this.maybeOmitRefresh(token) };
    }
    record.rotated = true;
    return { ok: true, token: this.maybeOmitRefresh(this.issue(record.family)) };
  }

  private maybeOmitRefresh(token: TokenAnswer): TokenAnswer {
    if (!this.settings.current.omitRefreshTokenOnRefresh) return token;
    const { refresh_token: _, ...rest } = token;
    return rest;
  }

  /** Starts an authorization-code grant; returns the code. */
  startCode(redirectUri: string, challenge: string): string {
    const code = opaque('ac_');
    this.codes.set(code, { redirectUri, challenge, expiresAt: this.clock() + 60_000 });
    return code;
  }

  exchangeCode(code: string, redirectUri: string, verifier: string): GrantResult {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    if (!grant || grant.expiresAt <= this.clock()) return fail('invalid_grant', 'Code not valid');
    if (grant.redirectUri !== redirectUri) return fail('invalid_grant', 'Incorrect redirect_uri');
    if (s256(verifier) !== grant.challenge) {
      return fail('invalid_grant', 'PKCE verification failed: Code mismatch');
    }
    return { ok: true, token: this.issue() };
  }

  /** Issues a fresh token family (a new login). */
  issue(
    family?: Family,
    keep?: { refreshToken: string; expiresAt: number },
    overrides: { scope?: string; subject?: string } = {},
  ): TokenAnswer {
    const config = this.settings.current;
    const now = this.clock();
    const fam: Family = family ?? {
      id: ++this.families,
      revoked: false,
      subject: overrides.subject ?? config.subject,
      scope: overrides.scope ?? config.scope,
    };
    const accessToken = opaque('at_');
    const accessExpires = now + config.accessTtl * 1000;
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

  /** The subject and scopes of a valid access token, or why it is not valid. */
  validate(accessToken: string): { subject: string; scope: string } | undefined {
    const record = this.access.get(accessToken);
    if (!record || record.revoked || record.family.revoked) return undefined;
    if (record.expiresAt <= this.clock()) return undefined;
    return { subject: record.family.subject, scope: record.family.scope };
  }

  revokeAll(keepRefresh: boolean): void {
    for (const record of this.access.values()) record.revoked = true;
    if (!keepRefresh) for (const record of this.refresh.values()) record.revoked = true;
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
