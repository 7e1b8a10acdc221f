import { gzipSync } from 'node:zlib';
import { oidcAuth } from '@oidc-auth/axios';
import { DeviceFlow, MemoryTokenStore, parseTokenJson, TokenManager } from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc as gotOidc } from '@oidc-auth/got';
import { withOidc as kyOidc } from '@oidc-auth/ky';
import { startMockServer } from '@oidc-auth/mock-server';
import { oidcInterceptor } from '@oidc-auth/undici';
import axios from 'axios';
import { build } from 'esbuild';
import got from 'got';
import ky from 'ky';
import { Agent, request } from 'undici';

type Send = () => Promise<unknown>;

async function timed(send: Send, requests: number, concurrency = 8): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await send();
    }),
  );
  return performance.now() - started;
}

/**
 * Each adapter against the same client with a fixed Authorization header over loopback HTTP
 * (the mock server), with a valid token: wall time wrapped / bare, median of interleaved trials.
 */
export async function adapterOverhead(requests = 2_000, trials = 7) {
  const server = await startMockServer();
  const store = new MemoryTokenStore();
  const token = parseTokenJson(server.issueToken(), Date.now() / 1000);
  await store.put(server.url, token);
  const manager = new TokenManager({ host: server.url, store, interactive: false });
  await manager.getToken();
  const headers = { authorization: `Bearer ${token.access_token}` };
  const url = `${server.url}/api/bench`;

  const bareAxios = axios.create({ headers });
  const wrappedAxios = axios.create();
  oidcAuth({ manager })(wrappedAxios);
  const bareKy = ky.create({ headers, retry: 0 });
  const wrappedKy = ky.create({ retry: 0 }).extend(kyOidc({ manager }));
  const bareGot = got.extend({ headers, retry: { limit: 0 } });
  const wrappedGot = got.extend({ retry: { limit: 0 } }, gotOidc({ manager }));
  const wrappedFetch = oidcFetch({ manager });
  const agent = new Agent();
  const intercepted = agent.compose(oidcInterceptor({ manager }));
  // The control: what any interceptor costs on undici (its handler conversions), ours aside.
  const noop = agent.compose((dispatch) => (opts, handler) => dispatch(opts, handler));

  const pairs: Record<string, [Send, Send]> = {
    fetch: [
      () => fetch(url, { headers }).then((r) => r.arrayBuffer()),
      () => wrappedFetch(url).then((r) => r.arrayBuffer()),
    ],
    axios: [() => bareAxios.get(url), () => wrappedAxios.get(url)],
    ky: [() => bareKy.get(url).arrayBuffer(), () => wrappedKy.get(url).arrayBuffer()],
    got: [() => bareGot.get(url).buffer(), () => wrappedGot.get(url).buffer()],
    undici: [
      () => request(url, { dispatcher: agent, headers }).then((r) => r.body.arrayBuffer()),
      () => request(url, { dispatcher: intercepted }).then((r) => r.body.arrayBuffer()),
    ],
    'undici, a no-op interceptor (control)': [
      () => request(url, { dispatcher: agent, headers }).then((r) => r.body.arrayBuffer()),
      () => request(url, { dispatcher: noop, headers }).then((r) => r.body.arrayBuffer()),
    ],
  };
  // Interleaved: bare, wrapped, bare, wrapped … for every client, `trials` times; each trial's
  // ratio compares two passes made back to back, and the median of the trials is reported.
  const ratios: Record<string, number[]> = {};
  for (const [name, [bare, wrapped]] of Object.entries(pairs)) {
    await timed(bare, 500);
    await timed(wrapped, 500);
    ratios[name] = [];
  }
  for (let t = 0; t < trials; t++) {
    for (const [name, [bare, wrapped]] of Object.entries(pairs)) {
      const bareMs = await timed(bare, requests);
      const wrappedMs = await timed(wrapped, requests);
      ratios[name]?.push(wrappedMs / bareMs);
    }
  }
  const results: Record<string, { median: number; min: number; max: number }> = {};
  for (const [name, values] of Object.entries(ratios)) {
    const sorted = values.sort((a, b) => a - b);
    const round = (n: number | undefined) => Number((n ?? 0).toFixed(3));
    results[name] = {
      median: round(sorted[sorted.length >> 1]),
      min: round(sorted[0]),
      max: round(sorted[sorted.length - 1]),
    };
  }
  const refreshes = server.stats().routes.token;
  manager.close();
  await agent.close();
  await server.close();
  return { requests, trials, wrappedOverBareRatio: results, tokenEndpointCalls: refreshes };
}

/** How many polls a device login makes after the user approved (the floor is 1). */
export async function pollsAfterApproval(logins = 3) {
  const server = await startMockServer({ interval: 1 });
  const counts: number[] = [];
  for (let i = 0; i < logins; i++) {
    const flow = new DeviceFlow({ host: server.url });
    const code = await flow.getDeviceCode();
    const before = server.stats().device.polls;
    const polling = flow.poll(code);
    // Approve while the client is waiting between polls.
    server.approve(code.user_code);
    const approvedAt = server.stats().device.polls;
    await polling;
    counts.push(server.stats().device.polls - Math.max(before, approvedAt));
  }
  await server.close();
  return { logins, pollsAfterApproval: counts };
}

/** Each package's own code, minified and gzipped (peers, core and core's dependencies left out). */
export async function packageSizes() {
  const entries: Record<string, string[]> = {
    core: ['proper-lockfile', 'jose'],
    fetch: ['@oidc-auth/core'],
    axios: ['@oidc-auth/core', 'axios'],
    ky: ['@oidc-auth/core', 'ky'],
    got: ['@oidc-auth/core', 'got'],
    undici: ['@oidc-auth/core', 'undici'],
  };
  const sizes: Record<string, number> = {};
  for (const [name, external] of Object.entries(entries)) {
    const result = await build({
      entryPoints: [new URL(`../packages/${name}/src/index.ts`, import.meta.url).pathname],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      write: false,
      external,
    });
    sizes[`@oidc-auth/${name}`] = gzipSync(
      result.outputFiles[0]?.contents ?? new Uint8Array(),
    ).length;
  }
  return { bytesMinGz: sizes };
}
