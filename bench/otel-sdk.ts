// The OpenTelemetry SDK as an application sets it up (spans batched to an exporter, metrics to
// a reader), with in-memory ends so the bench measures our package and the SDK, not a network.
import { enableOidcAuthTelemetry, type OidcAuthTelemetry } from '@oidc-auth/otel';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-base';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Enables `@oidc-auth/otel` on a fresh SDK; `disable()` undoes it. */
export function enableOtel(): OidcAuthTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const meterProvider = new MeterProvider({ readers: [new Reader()] });
  const telemetry = enableOidcAuthTelemetry({ tracerProvider, meterProvider });
  return {
    observe: telemetry.observe,
    disable() {
      telemetry.disable();
      void tracerProvider.shutdown();
      void meterProvider.shutdown();
    },
  };
}
