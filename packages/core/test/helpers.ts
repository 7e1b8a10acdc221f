import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MockServer, type MockServerOptions, startMockServer } from '@oidc-auth/mock-server';
import { afterEachTest, cleanupsFor } from '@oidc-auth/test-support/cleanup';
import type { TestProvider } from '@oidc-auth/test-support/oidc-provider';
import { expect } from 'vitest';
import {
  type AuthError,
  type DeviceCodeEvent,
  type HttpAnswer,
  isAuthError,
  MemoryTokenStore,
  parseTokenJson,
  type Sleep,
  type Token,
  TokenManager,
  type TokenManagerOptions,
} from '../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEachTest(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `fn` after the current test (a concurrent test's own cleanups: see concurrentTest). */
export function defer(fn: () => Promise<void> | void): void {
  cleanupsFor(cleanups).push(fn);
}

/** A mock server closed after the test. Polling interval 1 s (the client's floor). */
export async function mock(options: MockServerOptions = {}): Promise<MockServer> {
  const server = await startMockServer({ interval: 1, ...options });
  defer(() => server.close());
  return server;
}

/**
 * oidc-provider (the contract's fixture) on 127.0.0.1, closed after the test. Loaded on first
 * use, so tests that do not need it do not pay for importing it.
 */
export async function oidcProvider(): Promise<TestProvider> {
  const { startProvider } = await import('@oidc-auth/test-support/oidc-provider');
  const provider = await startProvider();
  defer(() => provider.close());
  return provider;
}

/**
 * A manager for the fixture provider's public client (memory store, no real waits) whose device
 * logins the provider approves or denies at once; closed after the test.
 */
export async function oidcManager(decision: 'approve' | 'deny' = 'approve') {
  const op = await oidcProvider();
  const { clientId } = await import('@oidc-auth/test-support/oidc-provider');
  const m = new TokenManager({
    issuer: op.issuer,
    clientId,
    store: new MemoryTokenStore(),
    sleep: noWait,
    onDeviceCode: (event) => void op.decide(event.userCode, decision),
  });
  defer(() => m.close());
  return { op, manager: m };
}

/** A temporary folder removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-test-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A sleep that takes no real time (one turn of the event loop), for tests where the wait
 * itself is not under test. Aborts like the real one.
 */
export const noWait: Sleep = (_ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    setImmediate(() => (signal?.aborted ? reject(signal.reason) : resolve()));
  });

/**
 * Virtual time: `sleep` moves `clock` forward by the time asked instead of waiting, and
 * records each wait. Pass `clock` to the mock server too, so both sides agree on the time.
 */
export function virtualTime(start = Date.now()) {
  let now = start;
  const waits: number[] = [];
  const sleep: Sleep = (ms, signal) => {
    if (!signal?.aborted) {
      waits.push(ms);
      now += ms;
    }
    return noWait(ms, signal);
  };
  return {
    clock: () => now,
    sleep,
    waits,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Fast retries so fault tests do not wait seconds. */
export const fastRetry = { retries: 2, minTimeout: 5, maxTimeout: 20 };

/** A manager on a memory store, never interactive unless asked, closed after the test. */
export function manager(
  server: MockServer,
  options: Partial<Omit<TokenManagerOptions, 'interactive'>> & {
    interactive?: boolean | undefined;
  } = {},
) {
  const m = new TokenManager({
    host: server.url,
    store: new MemoryTokenStore(),
    // Never prompt on the test runner's terminal unless a test supplies onDeviceCode.
    ...(options.onDeviceCode ? {} : { interactive: false }),
    retry: fastRetry,
    // Device-flow polls wait no real time; tests of the wait itself use virtualTime().
    sleep: noWait,
    ...options,
  } as TokenManagerOptions);
  defer(() => m.close());
  return m;
}

/** The server's token answer turned into a Token the way a client stores it. */
export function asToken(answer: ReturnType<MockServer['issueToken']>): Token {
  return parseTokenJson(answer, Date.now() / 1000);
}

/** A raw answer as the protocol parsers get it: a string body is sent as text, anything else as JSON. */
export function answer(status: number, body: unknown): HttpAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(), text, json };
}

/** Awaits a promise that must reject with an AuthError, and returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAuthError(error)).toBe(true);
  return error as AuthError;
}

/**
 * A logged-in store: a fresh token family from the server, stored an hour ago, its access
 * token optionally already expired client-side (negative: expiring in that many seconds).
 */
export async function seededStore(
  server: MockServer,
  options: { accessExpiredBy?: number; store?: MemoryTokenStore } = {},
) {
  let seeding = true;
  const store =
    options.store ??
    new MemoryTokenStore({ clock: () => (seeding ? Date.now() - 3_600_000 : Date.now()) });
  const token = asToken(server.issueToken());
  if (options.accessExpiredBy !== undefined) {
    token.expires = Math.floor(Date.now() / 1000) - options.accessExpiredBy;
  }
  await store.put(new URL(server.url).origin, token);
  seeding = false;
  return { store, token };
}

/** An onDeviceCode that approves the login on the mock server, and records the prompts. */
export function approver(server: MockServer, decision: 'approve' | 'deny' = 'approve') {
  const prompts: DeviceCodeEvent[] = [];
  const onDeviceCode = (event: DeviceCodeEvent) => {
    prompts.push(event);
    if (decision === 'approve') server.approve(event.userCode);
    else server.deny(event.userCode);
  };
  return { prompts, onDeviceCode };
}
