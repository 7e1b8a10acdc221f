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
import type { ManagerHealth, SessionIdentity } from '@oidc-auth/core';
import {
  type MeterProvider,
  metrics,
  type ObservableResult,
  type TracerProvider,
  trace,
  ValueType,
} from '@opentelemetry/api';
import { makeInstruments, recorders, subscribePlain } from './instruments.js';
import { subscribeSpans } from './spans.js';

/**
 * What the expiry gauge reads: a `TokenManager` (or anything with its `host`, `health()` and,
 * optionally, its `identity`).
 */
export interface HealthSource {
  readonly host: string;
  readonly identity?: Pick<SessionIdentity, 'server' | 'clientId'>;
  health(): Pick<ManagerHealth, 'expiresIn'>;
}

/** The gauge's attributes of one manager: its server, and its client when it has one. */
function sessionAttributes(manager: HealthSource): Record<string, string> {
  const { identity } = manager;
  if (!identity) return { 'oidc_auth.host': manager.host };
  return identity.clientId === undefined
    ? { 'oidc_auth.host': identity.server }
    : { 'oidc_auth.host': identity.server, 'oidc_auth.client': identity.clientId };
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

/**
 * Turns core's diagnostics channels into OpenTelemetry spans and metrics, until `disable()`.
 *
 * Spans: one per login, refresh, token request, 401 recovery, token exchange and store-lock
 * wait, named `oidc-auth <what>`. A span started while the caller has an active span is its
 * child; spans started inside another (a refresh's lock wait and token request) are that one's
 * children. Attributes: `oidc_auth.host`, `oidc_auth.client` (an OpenID Provider's client id), `oidc_auth.grant`, `oidc_auth.outcome`,
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
  const instruments = makeInstruments(meter);
  const observed = new Set<HealthSource>(options.managers ?? []);
  const expiresIn = meter.createObservableGauge('oidc_auth.token.expires_in', {
    description: 'Seconds until the access token in memory expires (negative: expired)',
    unit: 's',
    valueType: ValueType.INT,
  });
  const observeExpiry = (result: ObservableResult) => {
    for (const manager of observed) {
      const seconds = manager.health().expiresIn;
      if (seconds !== null) result.observe(seconds, sessionAttributes(manager));
    }
  };
  expiresIn.addCallback(observeExpiry);
  const undo = [...subscribeSpans(tracer, recorders(instruments)), ...subscribePlain(instruments)];
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
