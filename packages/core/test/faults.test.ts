import { inspect } from 'node:util';
import type { FaultSpec } from '@oidc-auth/mock-server';
import { describe, expect, it } from 'vitest';
import { type AuthError, DeviceFlow, ErrorCode } from '../src/index.js';
import { fastRetry, manager, mock, rejection, seededStore } from './helpers.js';

type Fault = Omit<FaultSpec, 'route' | 'count'>;

const faults: Record<string, Fault> = {
  '500 with an HTML body': { status: 500 },
  '502 with an HTML body': { status: 502 },
  '503 with an HTML body': { status: 503 },
  'a reset connection': { reset: true },
  'an answer that hangs past the timeout': { delayMs: 2_000 },
  '429 with Retry-After': { status: 429, headers: { 'retry-after': '0' } },
};

/** No canary appears in the error or its causes: message, JSON, inspect. */
function expectClean(error: AuthError, canaries: readonly string[]): void {
  let current: unknown = error;
  while (current) {
    const text = `${(current as Error).message}\n${JSON.stringify(current)}\n${inspect(current, { depth: 5 })}`;
    for (const canary of canaries) expect(text).not.toContain(canary);
    current = (current as Error).cause;
  }
}

async function refreshWith(fault: Fault, count: number) {
  const server = await mock();
  const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
  const canaries = [token.access_token, token.refresh_token];
  server.fault({ route: 'token', ...fault, count, body: `<html>${token.refresh_token}</html>` });
  const m = manager(server, { store, requestTimeout: 200, onDeviceCode: () => {} });
  return { server, canaries, result: m.getToken() };
}

async function deviceWith(fault: Fault, count: number) {
  const server = await mock();
  server.fault({ route: 'device', ...fault, count });
  const flow = new DeviceFlow({ host: server.url, retry: fastRetry, requestTimeout: 200 });
  return { server, result: flow.getDeviceCode() };
}

describe('faults at the auth server: retried with backoff, then a typed error', () => {
  for (const [name, fault] of Object.entries(faults)) {
    it(`token route, ${name}: recovers within the retry budget`, async () => {
      const { server, result } = await refreshWith(fault, fastRetry.retries);
      expect((await result).access_token).toMatch(/^at_/);
      expect(server.stats().routes.token).toBe(fastRetry.retries + 1);
      expect(server.stats().routes.device).toBe(0);
    });

    it(`token route, ${name}: OIDC_SERVER_UNAVAILABLE once the budget is spent, no device flow`, async () => {
      const { server, canaries, result } = await refreshWith(fault, 100);
      const error = await rejection(result);
      expectClean(error, canaries);
      expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
      expect(error.cause).toBeDefined();
      expect(server.stats().routes.token).toBe(fastRetry.retries + 1);
      expect(server.stats().routes.device).toBe(0);
    });

    it(`device route, ${name}: recovers, or ends typed`, async () => {
      const ok = await deviceWith(fault, fastRetry.retries);
      expect((await ok.result).user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
      const failing = await deviceWith(fault, 100);
      const error = await rejection(failing.result);
      expect(error.code).toBe(ErrorCode.SERVER_UNAVAILABLE);
      expect(failing.server.stats().routes.device).toBe(fastRetry.retries + 1);
    });
  }

  it('no canary token appears in any of those errors (message, JSON, inspect, causes)', async () => {
    const outcomes = await Promise.all(
      Object.values(faults).map(async (fault) => {
        const { canaries, result } = await refreshWith(fault, 100);
        return { error: await rejection(result), canaries };
      }),
    );
    expect(outcomes).toHaveLength(Object.keys(faults).length);
    for (const { error, canaries } of outcomes) {
      expect(canaries.every((canary) => canary.length > 10)).toBe(true);
      expectClean(error, canaries);
    }
  });
});
