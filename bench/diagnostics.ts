// What the diagnostics channels cost a refresh: refreshes over loopback (the mock server,
// rotating refresh tokens) with nobody subscribed, with a no-op subscriber on every channel, and
// with @oidc-auth/otel enabled on the OpenTelemetry SDK (spans and metrics recorded),
// interleaved, median of the trials. The request path publishes nothing, so `adapters.hotPath`
// is its figure.
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import {
  diagnosticsChannels,
  MemoryTokenStore,
  parseTokenJson,
  TokenManager,
} from '@oidc-auth/core';
import { startMockServer } from '@oidc-auth/mock-server';
import { enableOtel } from './otel-sdk.js';

const noop = () => {};
const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };

function subscribeAll(on: boolean): void {
  const { storeError, tokenAdopted, ...tracing } = diagnosticsChannels;
  for (const name of Object.values(tracing)) {
    if (on) tracingChannel(name).subscribe(handlers);
    else tracingChannel(name).unsubscribe(handlers);
  }
  for (const name of [storeError, tokenAdopted]) {
    if (on) subscribe(name, noop);
    else unsubscribe(name, noop);
  }
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

export async function diagnosticsCost(trials = 7, refreshes = 300) {
  const server = await startMockServer({ rotation: true });
  const microsPerRefresh = async () => {
    const store = new MemoryTokenStore();
    await store.put(server.url, parseTokenJson(server.issueToken(), Date.now() / 1000));
    const manager = new TokenManager({ host: server.url, store, interactive: false });
    let token = await manager.getToken();
    const start = process.hrtime.bigint();
    for (let i = 0; i < refreshes; i++) token = await manager.recover(token.access_token);
    manager.close();
    return Number(process.hrtime.bigint() - start) / 1e3 / refreshes;
  };
  try {
    await microsPerRefresh(); // warm-up
    const off: number[] = [];
    const on: number[] = [];
    const otel: number[] = [];
    for (let trial = 0; trial < trials; trial++) {
      off.push(await microsPerRefresh());
      subscribeAll(true);
      on.push(await microsPerRefresh());
      subscribeAll(false);
      const telemetry = enableOtel();
      otel.push(await microsPerRefresh());
      telemetry.disable();
    }
    const added = on.map((value, i) => value - (off[i] as number));
    const addedOtel = otel.map((value, i) => value - (off[i] as number));
    return {
      trials,
      refreshes,
      microsPerRefresh: {
        unsubscribed: Math.round(median(off)),
        subscribed: Math.round(median(on)),
        otel: Math.round(median(otel)),
      },
      addedMicrosPerRefresh: {
        median: Math.round(median(added)),
        min: Math.round(Math.min(...added)),
        max: Math.round(Math.max(...added)),
      },
      addedMicrosPerRefreshOtel: {
        median: Math.round(median(addedOtel)),
        min: Math.round(Math.min(...addedOtel)),
        max: Math.round(Math.max(...addedOtel)),
      },
    };
  } finally {
    await server.close();
  }
}
