/**
 * OpenTelemetry for oidc-auth: spans and metrics made from the `node:diagnostics_channel`
 * channels core publishes on (`diagnosticsChannels`), with `@opentelemetry/api` as a peer. One
 * line turns it on; the request path (a valid token attached) publishes nothing, so it costs
 * nothing there.
 *
 * @example
 * import { enableOidcAuthTelemetry } from '@oidc-auth/otel';
 * enableOidcAuthTelemetry({ managers: [manager] }); // the global tracer and meter providers
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { channel as plainChannel, tracingChannel } from 'node:diagnostics_channel';
import { diagnosticsChannels, type ManagerHealth, type TraceContext } from '@oidc-auth/core';
import {
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  type ObservableResult,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
  ValueType,
} from '@opentelemetry/api';

/** What the expiry gauge reads: a `TokenManager` (or anything with its `host` and `health()`). */
export interface HealthSource {
  readonly host: string;
  health(): Pick<ManagerHealth, 'expiresIn'>;
}

export interface OidcAuthTelemetryOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Managers whose access token's remaining lifetime the `oidc_auth.token.expires_in` gauge
   * reports (from `health()`, read when the metrics are collected). More: `observe()`.
   */
  managers?: Iterable<HealthSource>;
}

export interface OidcAuthTelemetry {
  /** Adds a manager to the expiry gauge; the function returned removes it. */
  observe(manager: HealthSource): () => void;
  /** Unsubscribes from every channel and stops the gauge. Spans already started still end. */
  disable(): void;
}

/** The instrumentation scope's name and version, as spans and metrics carry them. */
export const instrumentationScope = { name: '@oidc-auth/otel', version: '0.1.0' } as const;

type Kind = 'login' | 'refresh' | 'tokenRequest' | 'recover' | 'exchange' | 'storeLock';

/** The tracing channels that become spans, their span names and kinds. */
const spans: Record<Kind, { name: (c: TraceContext) => string; kind: SpanKind }> = {
  login: { name: () => 'oidc-auth login', kind: SpanKind.INTERNAL },
  refresh: { name: () => 'oidc-auth refresh', kind: SpanKind.INTERNAL },
  tokenRequest: {
    name: (c) => `oidc-auth token-request${typeof c.what === 'string' ? ` ${c.what}` : ''}`,
    kind: SpanKind.CLIENT,
  },
  recover: { name: () => 'oidc-auth recover', kind: SpanKind.INTERNAL },
  exchange: { name: () => 'oidc-auth exchange', kind: SpanKind.INTERNAL },
  storeLock: { name: () => 'oidc-auth store-lock', kind: SpanKind.INTERNAL },
};

/**
 * The context fields a span or metric may carry, and their attribute names. Only these are
 * copied: whatever else a context holds never leaves this package (no field core publishes is
 * a secret, and none that a later version adds can become one here by accident).
 */
const fields: ReadonlyArray<readonly [keyof TraceContext & string, string]> = [
  ['host', 'oidc_auth.host'],
  ['client', 'oidc_auth.client'],
  ['grant', 'oidc_auth.grant'],
  ['outcome', 'oidc_auth.outcome'],
  ['what', 'oidc_auth.request'],
  ['attempts', 'oidc_auth.attempts'],
  ['status', 'http.response.status_code'],
  ['oauthError', 'oidc_auth.oauth_error'],
  ['sessionEnded', 'oidc_auth.session_ended'],
  ['audience', 'oidc_auth.audience'],
  ['resource', 'oidc_auth.resource'],
];

function attributesOf(context: TraceContext, only?: readonly string[]): Attributes {
  const attributes: Attributes = {};
  for (const [field, name] of fields) {
    if (only && !only.includes(field)) continue;
    const value = context[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[name] = value;
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      attributes[name] = value as string[];
    }
  }
  const code = errorCode(context.error);
  if (code && (!only || only.includes('error'))) attributes['error.type'] = code;
  return attributes;
}

/** An `AuthError`'s code (`OIDC_…`), or the name of another error; never its message's data. */
function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'Error';
}

interface Started {
  span: Span;
  at: number;
}

/**
 * Turns core's diagnostics channels into OpenTelemetry spans and metrics, until `disable()`.
 *
 * Spans: one per login, refresh, token request, 401 recovery, token exchange and store-lock
 * wait, named `oidc-auth <what>`. A span started while the caller has an active span is its
 * child; spans started inside another (a refresh's lock wait and token request) are that one's
 * children. Attributes: `oidc_auth.host`, `oidc_auth.grant`, `oidc_auth.outcome`,
 * `oidc_auth.request`, `oidc_auth.attempts`, `http.response.status_code`,
 * `oidc_auth.oauth_error`, `error.type` (the `AuthError` code) — never a token, secret, proof
 * or key.
 *
 * Metrics: `oidc_auth.refreshes`, `oidc_auth.refresh.duration`, `oidc_auth.logins`,
 * `oidc_auth.login.duration`, `oidc_auth.recoveries`, `oidc_auth.token_request.duration`,
 * `oidc_auth.store.lock_wait`, `oidc_auth.token.adoptions`, `oidc_auth.store.errors` and the
 * gauge `oidc_auth.token.expires_in` (of the managers given or observed).
 */
export function enableOidcAuthTelemetry(options: OidcAuthTelemetryOptions = {}): OidcAuthTelemetry {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    instrumentationScope.name,
    instrumentationScope.version,
  );
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    instrumentationScope.name,
    instrumentationScope.version,
  );
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', valueType: ValueType.DOUBLE });
  const counter = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit, valueType: ValueType.INT });
  const instruments = {
    refreshes: counter('oidc_auth.refreshes', 'Refreshes, by outcome', '{refresh}'),
    refreshDuration: seconds(
      'oidc_auth.refresh.duration',
      'Duration of refreshes, lock wait included',
    ),
    logins: counter('oidc_auth.logins', 'Logins, by grant and outcome', '{login}'),
    loginDuration: seconds(
      'oidc_auth.login.duration',
      'Duration of logins, waiting for a person included',
    ),
    recoveries: counter('oidc_auth.recoveries', '401 recoveries, by outcome', '{recovery}'),
    tokenRequestDuration: seconds(
      'oidc_auth.token_request.duration',
      'Duration of requests to the auth server, retries included',
    ),
    lockWait: seconds('oidc_auth.store.lock_wait', "Time spent waiting for the token store's lock"),
    adoptions: counter(
      'oidc_auth.token.adoptions',
      'Tokens another process stored, taken into use',
      '{token}',
    ),
    storeErrors: counter(
      'oidc_auth.store.errors',
      'Token store reads or writes that failed',
      '{error}',
    ),
  };
  const observed = new Set<HealthSource>(options.managers ?? []);
  const expiresIn = meter.createObservableGauge('oidc_auth.token.expires_in', {
    description: 'Seconds until the access token in memory expires (negative: expired)',
    unit: 's',
    valueType: ValueType.INT,
  });
  const observeExpiry = (result: ObservableResult) => {
    for (const manager of observed) {
      const seconds = manager.health().expiresIn;
      if (seconds !== null) result.observe(seconds, { 'oidc_auth.host': manager.host });
    }
  };
  expiresIn.addCallback(observeExpiry);

  /** What metric each finished span records into. */
  const record: Partial<Record<Kind, (context: TraceContext, seconds: number) => void>> = {
    refresh: (c, s) => {
      const attributes = attributesOf(c, ['host', 'outcome']);
      instruments.refreshes.add(1, attributes);
      instruments.refreshDuration.record(s, attributes);
    },
    login: (c, s) => {
      const attributes = attributesOf(c, ['host', 'grant', 'outcome']);
      instruments.logins.add(1, attributes);
      instruments.loginDuration.record(s, attributes);
    },
    recover: (c) => instruments.recoveries.add(1, attributesOf(c, ['host', 'outcome'])),
    tokenRequest: (c, s) =>
      instruments.tokenRequestDuration.record(s, attributesOf(c, ['host', 'what', 'status'])),
    storeLock: (c, s) => instruments.lockWait.record(s, attributesOf(c, ['host', 'outcome'])),
  };

  // Our spans, for nesting: a span started inside another (the refresh's token request) is its
  // child. Node runs a channel's bound stores around the traced function.
  const current = new AsyncLocalStorage<Span>();
  const started = new WeakMap<object, Started>();
  const begin = (kind: Kind, context: TraceContext): Span => {
    const parent = current.getStore();
    const active = otelContext.active();
    const span = tracer.startSpan(
      spans[kind].name(context),
      { kind: spans[kind].kind, attributes: attributesOf(context) },
      parent ? trace.setSpan(active, parent) : active,
    );
    started.set(context, { span, at: performance.now() });
    return span;
  };
  const undo: Array<() => void> = [];
  for (const kind of Object.keys(spans) as Kind[]) {
    const channel = tracingChannel(diagnosticsChannels[kind]);
    const handlers = {
      // Without bound stores (an older runtime), the span starts here, unnested.
      start: (message: unknown) => {
        if (!started.has(message as object)) begin(kind, message as TraceContext);
      },
      end: () => {},
      asyncStart: () => {},
      error: (message: unknown) => {
        const context = message as TraceContext;
        const span = started.get(context)?.span;
        const code = errorCode(context.error);
        span?.setStatus({ code: SpanStatusCode.ERROR, ...(code ? { message: code } : {}) });
        // The exception event carries the code only: messages hold no secrets, but stay ours.
        if (code) span?.addEvent('exception', { 'exception.type': code });
      },
      asyncEnd: (message: unknown) => {
        const context = message as TraceContext;
        const entry = started.get(context);
        if (!entry) return;
        started.delete(context);
        entry.span.setAttributes(attributesOf(context));
        entry.span.end();
        record[kind]?.(context, (performance.now() - entry.at) / 1000);
      },
    };
    const { start } = channel as unknown as {
      start: { bindStore?: (store: AsyncLocalStorage<Span>, fn: (m: unknown) => Span) => void };
    };
    const bound = typeof start.bindStore === 'function';
    if (bound) start.bindStore?.(current, (message) => begin(kind, message as TraceContext));
    channel.subscribe(handlers as never);
    undo.push(() => {
      channel.unsubscribe(handlers as never);
      if (bound) (start as { unbindStore(store: unknown): void }).unbindStore(current);
    });
  }
  const plain = (name: string, handler: (message: Record<string, unknown>) => void) => {
    const onMessage = (message: unknown) => handler(message as Record<string, unknown>);
    plainChannel(name).subscribe(onMessage);
    undo.push(() => plainChannel(name).unsubscribe(onMessage));
  };
  plain(diagnosticsChannels.tokenAdopted, (m) =>
    instruments.adoptions.add(1, attributesOf(m as TraceContext, ['host'])),
  );
  plain(diagnosticsChannels.storeError, (m) => {
    const attributes = attributesOf(m as TraceContext, ['host']);
    if (typeof m.code === 'string') attributes['error.type'] = m.code;
    instruments.storeErrors.add(1, attributes);
  });

  let enabled = true;
  return {
    observe(manager) {
      observed.add(manager);
      return () => void observed.delete(manager);
    },
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const fn of undo.splice(0)) fn();
      expiresIn.removeCallback(observeExpiry);
      observed.clear();
    },
  };
}
