import { afterEachTest, cleanupsFor } from '@oidc-auth/test-support/cleanup';
import { type MockServer, type MockServerOptions, startMockServer } from '../src/index.js';

const open: Array<() => Promise<void>> = [];

afterEachTest(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

/** Starts a mock server that the test's `afterEach` closes. */
export async function mock(options: MockServerOptions = {}): Promise<MockServer> {
  const server = await startMockServer(options);
  cleanupsFor(open).push(() => server.close());
  return server;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  const clock = { now: start, tick: (seconds: number) => (clock.now += seconds * 1000) };
  return clock;
}

export async function postForm(
  url: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function postJson(
  url: string,
  value: unknown = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Parses the RFC 6749 error code out of either error shape of PROTOCOL.md §1. */
export function errorCode(body: Record<string, unknown>): string | undefined {
  if (typeof body.error === 'string') return body.error;
  const detail = typeof body.detail === 'string' ? body.detail : '';
  const prefix = 'Upstream OIDC error: ';
  if (!detail.startsWith(prefix)) return undefined;
  return (JSON.parse(detail.slice(prefix.length)) as { error?: string }).error;
}

export async function startDevice(server: MockServer) {
  const res = await fetch(`${server.url}/auth/v2/device`, { method: 'POST' });
  return (await res.json()) as {
    device_code: string;
    user_code: string;
    verification_uri: string;
    verification_uri_complete: string | null;
    expires_in: number;
    interval: number;
  };
}

export function poll(server: MockServer, deviceCode: string) {
  return postForm(`${server.url}/auth/v2/token`, { 'device-code': deviceCode });
}

export function refresh(server: MockServer, refreshToken: string) {
  return postForm(`${server.url}/auth/v2/token`, { 'refresh-token': refreshToken });
}

export function callApi(server: MockServer, path: string, token?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${server.url}${path}`, { ...init, headers });
}
