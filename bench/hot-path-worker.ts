// One trial of one variant, in its own process: CPU µs per request over an in-process fake
// transport (no sockets), and heap growth per request. Prints one JSON line.
// Usage: node --expose-gc --import tsx --conditions=@oidc-auth/source bench/hot-path-worker.ts VARIANT REQUESTS
import { Readable } from 'node:stream';
import { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';
import { oidcAuth } from '@oidc-auth/axios';
import {
  DpopKey,
  FileTokenStore,
  MemoryTokenStore,
  type Token,
  TokenManager,
} from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc as gotOidc } from '@oidc-auth/got';
import { withOidc as kyOidc } from '@oidc-auth/ky';
import { oidcInterceptor } from '@oidc-auth/undici';
import axios, { type AxiosAdapter } from 'axios';
import { createAuthRefresh } from 'axios-auth-refresh';
import got from 'got';
import ky from 'ky';
import { Dispatcher } from 'undici';

const [variant = '', countText = '20000'] = process.argv.slice(2);
const requests = Number(countText);
const host = 'https://api.example.org';
const url = `${host}/data`;
const access = 'at_bench_0123456789abcdef0123456789abcdef';
const now = Date.now() / 1000;
const token: Token = {
  access_token: access,
  token_type: 'Bearer',
  expires: now + 3600,
  refresh_token: 'rt_bench',
  refresh_expires: now + 7200,
  scope: 'openid',
  headers: { Authorization: `Bearer ${access}` },
};
const fixed = { authorization: `Bearer ${access}` };

// The fake transports: each answers 200 with a tiny JSON body, in process.
const fakeFetch = (async () =>
  new Response('{"ok":true}', {
    status: 200,
    headers: { 'content-type': 'application/json' },
  })) as typeof fetch;
const fakeAxios: AxiosAdapter = async (config) => ({
  data: { ok: true },
  status: 200,
  statusText: 'OK',
  headers: {},
  config,
  request: {},
});
const fakeGot = () => {
  const response = Readable.from([Buffer.from('{"ok":true}')]) as Readable &
    Record<string, unknown>;
  Object.assign(response, { statusCode: 200, statusMessage: 'OK', headers: {}, url });
  return response;
};

/**
 * undici's in-process transport: a Dispatcher that answers every request 200 with a tiny JSON
 * body. Requests are sent with `dispatch()` and a small handler, as undici's own APIs do: its
 * `request()` over such a dispatcher keeps ~1.5 KB per request here (with or without us).
 */
class FakeDispatcher extends Dispatcher {
  override dispatch(_: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = {
      aborted: false,
      paused: false,
      reason: null,
      abort() {},
      pause() {},
      resume() {},
    };
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, { 'content-type': 'application/json' }, 'OK');
    handler.onResponseData?.(controller, Buffer.from('{"ok":true}'));
    handler.onResponseEnd?.(controller, {});
    return true;
  }
}

/** One GET through `dispatcher`, its body collected, as undici's request() would. */
function dispatched(dispatcher: Dispatcher, headers?: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    dispatcher.dispatch(
      { origin: host, path: '/data', method: 'GET', ...(headers ? { headers } : {}) },
      {
        onRequestStart: () => {},
        onResponseData: (_, chunk) => chunks.push(chunk),
        onResponseEnd: () => resolve(Buffer.concat(chunks)),
        onResponseError: (_, error) => reject(error),
      },
    );
  });
}

async function manager(): Promise<TokenManager> {
  if (variant.endsWith('-dpop')) return dpopManager();
  const store = new MemoryTokenStore();
  await store.put(host, token);
  const m = new TokenManager({ host, store, interactive: false, fetch: fakeFetch });
  await m.getToken();
  return m;
}

/** A DPoP-bound token for the same origin: every request gets its own ES256 proof. */
async function dpopManager(): Promise<TokenManager> {
  const store = new MemoryTokenStore();
  const bound = {
    ...token,
    token_type: 'DPoP',
    headers: { Authorization: `DPoP ${access}` },
    dpop_key: (await DpopKey.generate()).jwk,
  };
  const m = new TokenManager({
    issuer: host,
    clientId: 'bench',
    dpop: true,
    store,
    interactive: false,
    fetch: fakeFetch,
  });
  // Stored under the manager's own key: its session (issuer, client, DPoP).
  await store.put(m.host, bound);
  await m.getToken();
  return m;
}

/** A login through the file store's lock, as a real program does once, before bare requests. */
async function afterLogin(): Promise<void> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'oidc-bench-'));
  const store = new FileTokenStore({ path: join(dir, 'tokens.json') });
  await store.withLock(host, (entry) => entry.put(token));
  const m = new TokenManager({ host, store, interactive: false, fetch: fakeFetch });
  await m.getToken();
  m.close();
}

type Send = () => Promise<unknown>;

async function build(name: string): Promise<Send> {
  switch (name) {
    case 'fetch:bare':
      return () => fakeFetch(url, { headers: fixed });
    case 'fetch:bare-after-login':
      await afterLogin();
      return () => fakeFetch(url, { headers: fixed });
    case 'fetch:oidc-auth-otel':
      // @oidc-auth/otel enabled on the SDK: the request path publishes nothing.
      (await import('./otel-sdk.js')).enableOtel();
      return build('fetch:oidc-auth');
    case 'fetch:oidc-auth-dpop':
    case 'fetch:oidc-auth': {
      const f = oidcFetch({ manager: await manager(), fetch: fakeFetch });
      return () => f(url);
    }
    case 'fetch:@badgateway/oauth2-client': {
      globalThis.fetch = fakeFetch;
      const client = new OAuth2Client({ server: host, clientId: 'bench', fetch: fakeFetch });
      const wrapper = new OAuth2Fetch({
        client,
        getNewToken: () => ({ accessToken: access, refreshToken: 'rt_bench', expiresAt: null }),
      });
      return () => wrapper.fetch(url);
    }
    case 'axios:bare': {
      const a = axios.create({ adapter: fakeAxios, headers: fixed });
      return () => a.get(url);
    }
    case 'axios:oidc-auth-dpop':
    case 'axios:oidc-auth': {
      const a = axios.create({ adapter: fakeAxios });
      oidcAuth({ manager: await manager() })(a);
      return () => a.get(url);
    }
    case 'axios:axios-auth-refresh': {
      const a = axios.create({ adapter: fakeAxios });
      let current = access;
      a.interceptors.request.use((config) => {
        config.headers.Authorization = `Bearer ${current}`;
        return config;
      });
      createAuthRefresh(a as never, async () => {
        current = access;
      });
      return () => a.get(url);
    }
    case 'ky:bare': {
      const k = ky.create({ fetch: fakeFetch, headers: fixed, retry: 0 });
      return () => k.get(url).arrayBuffer();
    }
    case 'ky:oidc-auth-dpop':
    case 'ky:oidc-auth': {
      const k = ky
        .create({ fetch: fakeFetch, retry: 0 })
        .extend(kyOidc({ manager: await manager() }));
      return () => k.get(url).arrayBuffer();
    }
    case 'got:bare': {
      const g = got.extend({
        headers: fixed,
        retry: { limit: 0 },
        hooks: { beforeRequest: [fakeGot as never] },
      });
      return () => g.get(url).buffer();
    }
    case 'got:oidc-auth-dpop':
    case 'got:oidc-auth': {
      const g = got.extend({ retry: { limit: 0 } }, gotOidc({ manager: await manager() }), {
        hooks: { beforeRequest: [fakeGot as never] },
      });
      return () => g.get(url).buffer();
    }
    case 'undici:bare': {
      const dispatcher = new FakeDispatcher();
      return () => dispatched(dispatcher, fixed);
    }
    case 'undici:async-noop': {
      const dispatcher = new FakeDispatcher().compose((d) => (o, h) => {
        Promise.resolve(fixed).then((a) => d({ ...o, headers: { ...a } }, h));
        return true;
      });
      return () => dispatched(dispatcher);
    }
    case 'undici:sync-noop': {
      const dispatcher = new FakeDispatcher().compose(
        (d) => (o, h) => d({ ...o, headers: { ...fixed } }, h),
      );
      return () => dispatched(dispatcher);
    }
    case 'undici:oidc-auth-dpop':
    case 'undici:oidc-auth': {
      const dispatcher = new FakeDispatcher().compose(
        oidcInterceptor({ manager: await manager() }),
      );
      return () => dispatched(dispatcher);
    }
    default:
      throw new Error(`unknown variant ${name}`);
  }
}

const send = await build(variant);
for (let i = 0; i < Math.min(2000, requests); i++) await send(); // warm-up
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const cpuBefore = process.cpuUsage();
for (let i = 0; i < requests; i++) await send();
const cpu = process.cpuUsage(cpuBefore);
gc?.();
const heapAfter = process.memoryUsage().heapUsed;
process.stdout.write(
  `${JSON.stringify({
    variant,
    requests,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / requests,
    heapBytesPerRequest: (heapAfter - heapBefore) / requests,
  })}\n`,
);
