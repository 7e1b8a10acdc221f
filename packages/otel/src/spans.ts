import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { diagnosticsChannels, type TraceContext } from '@oidc-auth/core';
import {
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { attributesOf, errorCode } from './attributes.js';

export type Kind = 'login' | 'refresh' | 'tokenRequest' | 'recover' | 'exchange' | 'storeLock';

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

/** What a finished span records into metrics, per kind (see `instruments.ts`). */
export type Recorders = Partial<Record<Kind, (context: TraceContext, seconds: number) => void>>;

interface Started {
  span: Span;
  at: number;
}

/**
 * Subscribes to core's tracing channels: a span per traced call, nested under the caller's
 * active span and under each other (Node runs a channel's bound stores around the traced
 * function), ended with its outcome and recorded by `record`. Returns the unsubscribe calls.
 */
export function subscribeSpans(tracer: Tracer, record: Recorders): Array<() => void> {
  // Our spans, for nesting: a span started inside another (the refresh's token request) is its
  // child.
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
  const handlersOf = (kind: Kind) => ({
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
  });
  return (Object.keys(spans) as Kind[]).map((kind) => {
    const channel = tracingChannel(diagnosticsChannels[kind]);
    const handlers = handlersOf(kind);
    const { start } = channel as unknown as {
      start: { bindStore?: (store: AsyncLocalStorage<Span>, fn: (m: unknown) => Span) => void };
    };
    const bound = typeof start.bindStore === 'function';
    if (bound) start.bindStore?.(current, (message) => begin(kind, message as TraceContext));
    channel.subscribe(handlers as never);
    return () => {
      channel.unsubscribe(handlers as never);
      if (bound) (start as { unbindStore(store: unknown): void }).unbindStore(current);
    };
  });
}
