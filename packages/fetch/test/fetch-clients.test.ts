import {
  type AdapterDriver,
  adapterContract,
  adapterOidcContract,
  type BodyKind,
  bodyOf,
  leakMatrix,
  type Outcome,
} from '@oidc-auth/contract';
import { isAuthError } from '@oidc-auth/core';
import { createFetch, FetchError } from 'ofetch';
import createClient from 'openapi-fetch';
import { Agent } from 'undici';
import wretch from 'wretch';
import { oidcFetch } from '../src/index.js';

// Clients that take a fetch of their own: `oidcFetch()` passed as that fetch is the whole
// integration — the line a user writes is the one each driver below writes. They run the same
// adapter contract and leak matrix as the four adapters.

/** The path and query of `url` against `baseUrl`, and the origin to make the client with. */
function split(url: string, baseUrl: string | undefined) {
  const full = new URL(url, baseUrl ?? undefined);
  return { origin: full.origin, path: `${full.pathname}${full.search}` };
}

const failure = (outcome: Outcome) =>
  'error' in outcome && isAuthError(outcome.error)
    ? outcome.error
    : 'error' in outcome && isAuthError((outcome.error as { cause?: unknown })?.cause)
      ? ((outcome.error as { cause: unknown }).cause as never)
      : undefined;

/** openapi-fetch 0.17: `createClient({ baseUrl, fetch: oidcFetch(…) })`. */
const openapiFetch: AdapterDriver = {
  name: 'openapi-fetch',
  // A FormData, Blob or stream body goes through its bodySerializer; JSON and text are what
  // typed OpenAPI clients send.
  bodies: ['json', 'text'],
  replaysStreams: false,
  create(options, baseUrl) {
    const fetch = oidcFetch(options);
    return {
      async send(request): Promise<Outcome> {
        const { origin, path } = split(request.url, baseUrl);
        // One client per origin, as an app has one per API.
        const client = createClient<Record<string, never>>({ baseUrl: origin, fetch });
        const body = request.body as BodyKind | undefined;
        const init = {
          ...(body ? { body: body.value } : {}),
          ...(body?.kind === 'text'
            ? {
                bodySerializer: (value: unknown) => value as string,
                headers: { 'content-type': 'text/plain' },
              }
            : {}),
          ...(request.signal ? { signal: request.signal } : {}),
          parseAs: 'text' as const,
        };
        try {
          const call = client[request.method] as (
            path: string,
            init: object,
          ) => Promise<{
            response: Response;
            data?: unknown;
            error?: unknown;
          }>;
          const answer = await call(path, init);
          const text = (answer.data ?? answer.error ?? '') as string;
          return { status: answer.response.status, json: bodyOf(text) };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) => !('error' in outcome) && outcome.status === 401,
  authErrorOf: failure,
};

function ofetchBody(body: BodyKind | undefined): Record<string, unknown> {
  if (!body) return {};
  if (body.kind === 'stream') return { body: body.value(), duplex: 'half' };
  return { body: body.value };
}

/** ofetch 1: `createFetch({ fetch: oidcFetch(…) })`, which throws FetchError on HTTP errors. */
const ofetch: AdapterDriver = {
  name: 'ofetch',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes'],
  replaysStreams: false,
  create(options, baseUrl, lenient) {
    const $fetch = createFetch({ fetch: oidcFetch(options) });
    return {
      async send(request): Promise<Outcome> {
        try {
          const res = await $fetch.raw(request.url, {
            method: request.method,
            ...(baseUrl ? { baseURL: baseUrl } : {}),
            ...ofetchBody(request.body),
            ...(request.signal ? { signal: request.signal } : {}),
            responseType: 'text',
            retry: 0,
            ...(lenient ? { ignoreResponseError: true } : {}),
          });
          return { status: res.status, json: bodyOf(String(res._data ?? '')) };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) =>
    'error' in outcome &&
    outcome.error instanceof FetchError &&
    outcome.error.response?.status === 401,
  authErrorOf: failure,
};

/** Our fetch on a wretch instance: `.fetchPolyfill(f)` in wretch 3, `.polyfills({ fetch })` in 2. */
function withFetch<W extends object>(instance: W, fetch: typeof globalThis.fetch): W {
  const w = instance as W & {
    fetchPolyfill?: (f: typeof fetch) => W;
    polyfills?: (p: { fetch: typeof fetch }) => W;
  };
  return w.fetchPolyfill ? w.fetchPolyfill(fetch) : (w.polyfills?.({ fetch }) ?? instance);
}

const contentTypes: Partial<Record<BodyKind['kind'], string>> = {
  json: 'application/json',
  text: 'text/plain',
  urlencoded: 'application/x-www-form-urlencoded',
};

/** wretch 2 (Node 20; the matrix runs wretch 3 on Node 22 and 24), which throws on HTTP errors. */
const wretchDriver: AdapterDriver = {
  name: 'wretch',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes'],
  replaysStreams: false,
  create(options, baseUrl, lenient) {
    const base = withFetch(wretch(baseUrl ?? ''), oidcFetch(options));
    return {
      async send(request): Promise<Outcome> {
        const body = request.body;
        let call = base.url(request.url, baseUrl === undefined);
        if (request.signal) call = call.options({ signal: request.signal });
        if (body) {
          const type = contentTypes[body.kind];
          if (type) call = call.content(type);
          call = call.body(body.kind === 'json' ? JSON.stringify(body.value) : body.value);
        }
        try {
          const res = await call.fetch(request.method).res();
          return { status: res.status, json: bodyOf(await res.text()) };
        } catch (error) {
          const failed = error as { status?: number; text?: string; response?: Response };
          if (lenient && typeof failed.status === 'number' && failed.response) {
            return { status: failed.status, json: bodyOf(failed.text ?? '') };
          }
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) =>
    'error' in outcome && (outcome.error as { status?: number } | null)?.status === 401,
  authErrorOf: failure,
};

for (const driver of [openapiFetch, ofetch, wretchDriver]) {
  adapterContract(driver);
  adapterOidcContract(driver);
}

/** A fetch on the leak matrix's network (its resolver and CA), for a client to be given. */
function onNetwork(network: Parameters<Parameters<typeof leakMatrix>[0]['createOn']>[0]) {
  const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } });
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, { ...init, dispatcher } as RequestInit)) as typeof fetch;
}

leakMatrix({
  name: 'openapi-fetch',
  createOn(network, manager) {
    const fetch = oidcFetch({ manager, fetch: onNetwork(network) });
    return {
      async get(url) {
        const { origin, path } = split(url, undefined);
        const client = createClient<Record<string, never>>({ baseUrl: origin, fetch });
        const answer = await (client.GET as (p: string, i: object) => Promise<unknown>)(path, {
          parseAs: 'text',
        });
        return answer;
      },
    };
  },
});

leakMatrix({
  name: 'ofetch',
  createOn(network, manager) {
    const $fetch = createFetch({ fetch: oidcFetch({ manager, fetch: onNetwork(network) }) });
    return {
      get: (url) => $fetch.raw(url, { responseType: 'text', retry: 0, ignoreResponseError: true }),
    };
  },
});

leakMatrix({
  name: 'wretch',
  createOn(network, manager) {
    const base = withFetch(wretch(), oidcFetch({ manager, fetch: onNetwork(network) }));
    return {
      get: (url) =>
        base
          .url(url)
          .get()
          .res()
          .catch((error: unknown) => error),
    };
  },
});
