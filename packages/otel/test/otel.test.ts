import { tracingChannel } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import {
  diagnosticsChannels,
  ErrorCode,
  MemoryTokenStore,
  parseTokenJson,
  type Token,
  TokenManager,
  type TokenStore,
} from '@oidc-auth/core';
import { type MockServer, startMockServer } from '@oidc-auth/mock-server';
import { startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { pushingStore } from '@oidc-auth/test-support/delegate-store';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { enableOidcAuthTelemetry } from '../src/index.js';

/** A metric reader collected by hand: no export interval, no timing. */
class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function mock(options: Parameters<typeof startMockServer>[0] = {}): Promise<MockServer> {
  const server = await startMockServer({ interval: 1, ...options });
  cleanups.push(() => server.close());
  return server;
}

/** The SDK with in-memory exporters, and the telemetry enabled on it (disabled after the test). */
function telemetry(managers: TokenManager[] = []) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const handle = enableOidcAuthTelemetry({ tracerProvider, meterProvider, managers });
  cleanups.push(() => handle.disable());
  const metric = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const found = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
    return (found?.dataPoints ?? []) as DataPoint<number | Histogram>[];
  };
  const span = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name);
  return { exporter, handle, metric, span, tracerProvider };
}

/** A store holding a token for `server` whose access token expired `by` seconds ago. */
async function expiredStore(server: MockServer, by = 5) {
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  token.expires = Math.floor(Date.now() / 1000) - by;
  await store.put(server.url, token);
  return { store, token };
}

function manager(server: MockServer, store: TokenStore, extra: object = {}) {
  const m = new TokenManager({ host: server.url, store, interactive: false, ...extra });
  cleanups.push(() => m.close());
  return m;
}

const sum = (points: DataPoint<number | Histogram>[], attributes: Record<string, unknown>) =>
  points
    .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0);

/** Everything an exporter would send, as text: names, attributes, events, status, metrics. */
function exported(spans: ReadableSpan[], ...metrics: unknown[]): string {
  return JSON.stringify([
    spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events, s: s.status })),
    metrics,
  ]);
}

function expectNoSecrets(text: string, tokens: Token[]): void {
  for (const token of tokens) {
    expect(text).not.toContain(token.access_token);
    if (token.refresh_token) expect(text).not.toContain(token.refresh_token);
  }
}

describe('@oidc-auth/otel', () => {
  it('a refresh: one span with the lock wait and the token request as children, its metrics, the expiry gauge', async () => {
    const server = await mock();
    const { store, token } = await expiredStore(server);
    const m = manager(server, store);
    const { exporter, metric, span } = telemetry([m]);
    const fresh = await m.getToken();

    const refresh = span('oidc-auth refresh');
    const lock = span('oidc-auth store-lock');
    const request = span('oidc-auth token-request refresh');
    expect(refresh?.attributes).toMatchObject({
      'oidc_auth.host': server.url,
      'oidc_auth.grant': 'refresh_token',
      'oidc_auth.outcome': 'success',
    });
    expect(request?.attributes).toMatchObject({
      'oidc_auth.grant': 'refresh_token',
      'http.response.status_code': 200,
      'oidc_auth.attempts': 1,
      'oidc_auth.outcome': 'success',
    });
    const refreshId = refresh?.spanContext().spanId;
    expect(lock?.parentSpanContext?.spanId).toBe(refreshId);
    expect(request?.parentSpanContext?.spanId).toBe(refreshId);
    expect(new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(refresh?.parentSpanContext).toBeUndefined();

    const refreshes = await metric('oidc_auth.refreshes');
    expect(sum(refreshes, { 'oidc_auth.outcome': 'success' })).toBe(1);
    expect(sum(await metric('oidc_auth.refresh.duration'), {})).toBe(1);
    expect(
      sum(await metric('oidc_auth.token_request.duration'), { 'oidc_auth.request': 'refresh' }),
    ).toBe(1);
    expect(sum(await metric('oidc_auth.store.lock_wait'), { 'oidc_auth.outcome': 'success' })).toBe(
      1,
    );
    expectNoSecrets(exported(exporter.getFinishedSpans(), refreshes), [token, fresh]);
  });

  it("a refresh inside the caller's active span is that span's child", async () => {
    const manager_ = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager_);
    cleanups.push(() => context.disable());
    const server = await mock();
    const { store } = await expiredStore(server);
    const { span, tracerProvider } = telemetry();
    const m = manager(server, store);
    const job = tracerProvider.getTracer('job');
    const parentId = await job.startActiveSpan('nightly job', async (parent) => {
      await m.getToken();
      parent.end();
      return parent.spanContext().spanId;
    });
    expect(span('oidc-auth refresh')?.parentSpanContext?.spanId).toBe(parentId);
    expect(span('oidc-auth token-request refresh')?.parentSpanContext?.spanId).toBe(
      span('oidc-auth refresh')?.spanContext().spanId,
    );
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('a refused refresh and no login possible, in a job: error spans with the status, OAuth error and code', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    cleanups.push(() => context.disable());
    const server = await mock();
    const { store, token } = await expiredStore(server);
    server.revokeAll();
    const { exporter, metric, span, tracerProvider } = telemetry();
    const m = manager(server, store);
    const jobId = await tracerProvider
      .getTracer('job')
      .startActiveSpan('nightly job', async (job) => {
        await expect(m.getToken()).rejects.toMatchObject({ code: ErrorCode.LOGIN_REQUIRED });
        job.end();
        return job.spanContext().spanId;
      });
    // The guide's tree: the refresh (with its lock wait and token request) and the login, both
    // children of the job.
    const refresh = span('oidc-auth refresh');
    expect(refresh?.attributes['oidc_auth.outcome']).toBe('refused');
    expect(refresh?.parentSpanContext?.spanId).toBe(jobId);
    expect(span('oidc-auth login')?.parentSpanContext?.spanId).toBe(jobId);
    const request = span('oidc-auth token-request refresh');
    expect(request?.parentSpanContext?.spanId).toBe(refresh?.spanContext().spanId);
    expect(request?.status).toEqual({ code: 2, message: ErrorCode.REFRESH_REJECTED });
    expect(request?.attributes).toMatchObject({
      'http.response.status_code': 400,
      'oidc_auth.attempts': 1,
      'oidc_auth.oauth_error': 'invalid_grant',
      'error.type': ErrorCode.REFRESH_REJECTED,
    });
    const login = span('oidc-auth login');
    expect(login?.status.code).toBe(2);
    expect(login?.attributes).toMatchObject({
      'oidc_auth.outcome': 'login-required',
      'oidc_auth.session_ended': true,
      'error.type': ErrorCode.LOGIN_REQUIRED,
    });
    expect(login?.events.map((e) => e.attributes)).toEqual([
      { 'exception.type': ErrorCode.LOGIN_REQUIRED },
    ]);
    const logins = await metric('oidc_auth.logins');
    expect(sum(await metric('oidc_auth.refreshes'), { 'oidc_auth.outcome': 'refused' })).toBe(1);
    expect(sum(logins, { 'oidc_auth.outcome': 'login-required' })).toBe(1);
    expectNoSecrets(exported(exporter.getFinishedSpans(), logins), [token]);
  });

  it('a provider that echoes every secret it receives in `error`, `error_description`, `detail` or a header: no span, event or metric carries one', async () => {
    const clientSecret = 'cs-Echo/Secret+with=signs';
    const provider = await startBentProvider({ clientSecret });
    cleanups.push(() => provider.close());
    const { exporter, metric } = telemetry();
    const options = {
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret,
      verifyIdToken: false,
      retry: { retries: 0 },
    } as const;
    const user = new TokenManager({
      ...options,
      store: new MemoryTokenStore(),
      onDeviceCode: () => undefined,
    });
    const service = new TokenManager({
      ...options,
      store: new MemoryTokenStore(),
      grant: 'client_credentials',
    });
    cleanups.push(
      () => user.close(),
      () => service.close(),
    );
    const token = await user.getToken();
    for (const echo of ['error', 'error_description', 'detail', 'header'] as const) {
      provider.set({ echo });
      await expect(user.exchange({ audience: 'https://other.example' })).rejects.toThrow();
      await expect(user.recover(token.access_token)).rejects.toThrow();
      await expect(service.getToken()).rejects.toThrow();
    }
    const names = ['refreshes', 'refresh.duration', 'logins', 'login.duration', 'recoveries'];
    names.push('token_request.duration', 'store.lock_wait', 'token.adoptions', 'store.errors');
    const metrics = await Promise.all(names.map((name) => metric(`oidc_auth.${name}`)));
    const text = exported(exporter.getFinishedSpans(), ...metrics);
    const basic = Buffer.from(`${provider.clientId}:${clientSecret}`).toString('base64');
    for (const secret of [clientSecret, basic, ...provider.stats.deviceCodes]) {
      expect(text).not.toContain(secret);
    }
    expectNoSecrets(text, [token]);
    expect(text).toContain('"oidc_auth.oauth_error":"unrecognised"');
  });

  it('a 401 recovery: the recover span holds the refresh, and recoveries are counted by outcome', async () => {
    const server = await mock();
    const store = new MemoryTokenStore();
    await store.put(server.url, parseTokenJson(server.issueToken(), Date.now() / 1000));
    const { metric, span } = telemetry();
    const m = manager(server, store);
    const first = await m.getToken();
    await m.recover(first.access_token);
    await m.recover(first.access_token);
    const recover = span('oidc-auth recover');
    expect(span('oidc-auth refresh')?.parentSpanContext?.spanId).toBe(
      recover?.spanContext().spanId,
    );
    const recoveries = await metric('oidc_auth.recoveries');
    expect(sum(recoveries, { 'oidc_auth.outcome': 'renewed' })).toBe(1);
    expect(sum(recoveries, { 'oidc_auth.outcome': 'replaced' })).toBe(1);
  });

  it('the expiry gauge reads the observed managers; adoptions and store errors are counted', async () => {
    const server = await mock({ autoApprove: 0, accessTtl: 600 });
    const inner = new MemoryTokenStore();
    const { store, control } = pushingStore(inner);
    await inner.put(server.url, parseTokenJson(server.issueToken(), Date.now() / 1000));
    const m = manager(server, store, {
      interactive: true,
      onDeviceCode: (e: { userCode: string }) => server.approve(e.userCode),
    });
    const { handle, metric } = telemetry();
    expect(await metric('oidc_auth.token.expires_in')).toEqual([]); // no manager observed
    handle.observe(m);
    expect(await metric('oidc_auth.token.expires_in')).toEqual([]); // nothing in memory yet
    await m.getToken();
    const [point] = await metric('oidc_auth.token.expires_in');
    expect(point?.attributes).toEqual({ 'oidc_auth.host': server.url });
    expect(point?.value).toBeGreaterThan(590);
    expect(point?.value).toBeLessThanOrEqual(600);

    await inner.put(server.url, parseTokenJson(server.issueToken(), Date.now() / 1000));
    control.announce({ type: 'changed', host: server.url });
    await expect.poll(async () => sum(await metric('oidc_auth.token.adoptions'), {})).toBe(1);
    control.failing = true;
    await m.login();
    expect(await metric('oidc_auth.store.errors')).toEqual([
      expect.objectContaining({
        attributes: { 'oidc_auth.host': server.url, 'error.type': ErrorCode.STORE_ERROR },
        value: 1,
      }),
    ]);
    expect(sum(await metric('oidc_auth.logins'), { 'oidc_auth.grant': 'device_code' })).toBe(1);
  });

  it('disable() unsubscribes from every channel: nothing more is recorded, and nothing is published', async () => {
    const server = await mock();
    const { store } = await expiredStore(server);
    const { exporter, handle } = telemetry();
    const {
      tokenAdopted: _a,
      storeError: _e,
      unservedOrigin: _u,
      ...tracing
    } = diagnosticsChannels;
    expect(Object.values(tracing).every((name) => tracingChannel(name).hasSubscribers)).toBe(true);
    handle.disable();
    handle.disable(); // twice is harmless
    expect(Object.values(tracing).some((name) => tracingChannel(name).hasSubscribers)).toBe(false);
    await manager(server, store).getToken();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('the operations guide documents every metric the package creates, and its one line works as written', async () => {
    const guide = await readFile(
      new URL('../../../docs/guides/operations.md', import.meta.url),
      'utf8',
    );
    const source = (
      await Promise.all(
        ['index.ts', 'instruments.ts'].map((file) =>
          readFile(new URL(`../src/${file}`, import.meta.url), 'utf8'),
        ),
      )
    ).join('\n');
    const created = new Set(
      [
        ...source.matchAll(
          /(?:counter|seconds|createObservableGauge)\(\s*'(oidc_auth\.[a-z_.]+)'/g,
        ),
      ].map((m) => m[1] as string),
    );
    expect(created.size).toBe(10);
    for (const name of created) expect(guide).toContain(`| \`${name}\` |`);

    // The one line, with the global providers (an application's SDK set-up).
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    const reader = new ManualReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    cleanups.push(
      () => trace.disable(),
      () => metrics.disable(),
    );
    const server = await mock();
    const { store } = await expiredStore(server);
    const manager_ = manager(server, store);
    expect(guide).toContain('enableOidcAuthTelemetry({ managers: [manager] });');
    const handle = enableOidcAuthTelemetry({ managers: [manager_] });
    cleanups.push(() => handle.disable());
    await manager_.getToken();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toContain('oidc-auth refresh');
    const names = (await reader.collect()).resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .map((m) => m.descriptor.name);
    expect(names).toEqual(
      expect.arrayContaining(['oidc_auth.refreshes', 'oidc_auth.token.expires_in']),
    );
  });
});
