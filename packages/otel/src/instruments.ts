import { channel as plainChannel } from 'node:diagnostics_channel';
import { diagnosticsChannels, type TraceContext } from '@oidc-auth/core';
import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  ValueType,
} from '@opentelemetry/api';
import { attributesOf } from './attributes.js';
import type { Recorders } from './spans.js';

/** The counters and histograms, made once per `enableOidcAuthTelemetry()`. */
export type Instruments = ReturnType<typeof makeInstruments>;

export function makeInstruments(meter: Meter) {
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', valueType: ValueType.DOUBLE });
  const counter = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit, valueType: ValueType.INT });
  return {
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
}

/** What metric each finished span records into; each names the session (host, client). */
export function recorders(instruments: Instruments): Recorders {
  return {
    refresh: (c, s) => {
      const attributes = attributesOf(c, ['host', 'client', 'outcome']);
      instruments.refreshes.add(1, attributes);
      instruments.refreshDuration.record(s, attributes);
    },
    login: (c, s) => {
      const attributes = attributesOf(c, ['host', 'client', 'grant', 'outcome']);
      instruments.logins.add(1, attributes);
      instruments.loginDuration.record(s, attributes);
    },
    recover: (c) => instruments.recoveries.add(1, attributesOf(c, ['host', 'client', 'outcome'])),
    tokenRequest: (c, s) =>
      instruments.tokenRequestDuration.record(s, attributesOf(c, ['host', 'what', 'status'])),
    storeLock: (c, s) =>
      instruments.lockWait.record(s, attributesOf(c, ['host', 'client', 'outcome'])),
  };
}

/** The plain channels (adoptions, store errors) as counters; returns the unsubscribe calls. */
export function subscribePlain(instruments: Instruments): Array<() => void> {
  const plain = (name: string, handler: (message: Record<string, unknown>) => void) => {
    const onMessage = (message: unknown) => handler(message as Record<string, unknown>);
    plainChannel(name).subscribe(onMessage);
    return () => void plainChannel(name).unsubscribe(onMessage);
  };
  return [
    plain(diagnosticsChannels.tokenAdopted, (m) =>
      instruments.adoptions.add(1, attributesOf(m as TraceContext, ['host', 'client'])),
    ),
    plain(diagnosticsChannels.storeError, (m) => {
      const attributes: Attributes = attributesOf(m as TraceContext, ['host', 'client']);
      if (typeof m.code === 'string') attributes['error.type'] = m.code;
      instruments.storeErrors.add(1, attributes);
    }),
  ];
}
