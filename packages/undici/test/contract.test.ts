import { Readable } from 'node:stream';
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
import {
  Agent,
  type Dispatcher,
  interceptors,
  request,
  FormData as UndiciFormData,
  fetch as undiciFetch,
} from 'undici';
import { afterEach } from 'vitest';
import { installOidcDispatcher, oidcInterceptor } from '../src/index.js';

/** `undici.request` options for a contract body (its API takes strings, bytes, streams, forms). */
async function requestBody(
  body: BodyKind | undefined,
): Promise<Pick<Dispatcher.RequestOptions, 'body' | 'headers'>> {
  if (!body) return {};
  switch (body.kind) {
    case 'json':
      return {
        body: JSON.stringify(body.value),
        headers: { 'content-type': 'application/json' },
      };
    case 'text':
      return { body: body.value, headers: { 'content-type': 'text/plain;charset=UTF-8' } };
    case 'urlencoded':
      return {
        body: body.value.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
      };
    case 'multipart':
      return { body: undiciForm(body.value) };
    case 'blob':
      return { body: Buffer.from(await body.value.arrayBuffer()) };
    case 'bytes':
      return { body: Buffer.from(body.value) };
    case 'stream':
      return { body: Readable.fromWeb(body.value() as never) };
  }
}

/**
 * The package's own FormData: undici 7 knows only its own class (Node's global one, from the
 * undici Node bundles, is sent by undici's request and fetch as the text "[object FormData]").
 */
function undiciForm(form: FormData): UndiciFormData {
  const copy = new UndiciFormData();
  for (const [name, value] of form) copy.append(name, value as string);
  return copy;
}

function fetchInit(body: BodyKind | undefined, own: boolean): RequestInit {
  if (!body) return {};
  switch (body.kind) {
    case 'multipart':
      return { body: own ? (undiciForm(body.value) as unknown as FormData) : body.value };
    case 'json':
      return { body: JSON.stringify(body.value), headers: { 'content-type': 'application/json' } };
    case 'stream':
      return { body: body.value(), duplex: 'half' } as RequestInit;
    default:
      return { body: body.value };
  }
}

const isFinal401 = (outcome: Outcome) => !('error' in outcome) && outcome.status === 401;
/** The AuthError of an outcome: fetch rejects with its own TypeError, the AuthError its cause. */
const authErrorOf = (outcome: Outcome) => {
  if (!('error' in outcome)) return undefined;
  const { error } = outcome;
  if (isAuthError(error)) return error;
  const cause = (error as { cause?: unknown }).cause;
  return isAuthError(cause) ? cause : undefined;
};

/** `undici.request` on an Agent with the interceptor, and undici's redirect interceptor after it. */
const requestDriver: AdapterDriver = {
  name: 'undici request',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes', 'stream'],
  replaysStreams: true,
  create(options, baseUrl) {
    const dispatcher = new Agent().compose(
      oidcInterceptor(options),
      interceptors.redirect({ maxRedirections: 5 }),
    );
    return {
      async send(req): Promise<Outcome> {
        try {
          const url = baseUrl ? new URL(req.url, baseUrl).href : req.url;
          const res = await request(url, {
            method: req.method,
            dispatcher,
            ...(await requestBody(req.body)),
            ...(req.signal ? { signal: req.signal } : {}),
          });
          return { status: res.statusCode, json: bodyOf(await res.body.text()) };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401,
  authErrorOf,
};

/** A fetch through a dispatcher with the interceptor: undici's own, or Node's global one. */
function fetchDriver(name: string, send: typeof fetch, global: boolean): AdapterDriver {
  return {
    name,
    bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes', 'stream'],
    replaysStreams: true,
    create(options, baseUrl) {
      const interceptor = oidcInterceptor(options);
      const dispatcher = global ? undefined : new Agent().compose(interceptor);
      if (global) uninstalls.push(installOidcDispatcher(options));
      return {
        async send(req): Promise<Outcome> {
          try {
            const url = baseUrl ? new URL(req.url, baseUrl).href : req.url;
            const res = await send(url, {
              method: req.method,
              ...fetchInit(req.body, !global),
              ...(req.signal ? { signal: req.signal } : {}),
              ...(dispatcher ? { dispatcher } : {}),
            } as RequestInit);
            return { status: res.status, json: bodyOf(await res.text()) };
          } catch (error) {
            return { error };
          }
        },
      };
    },
    isFinal401,
    authErrorOf,
  };
}

const uninstalls: Array<() => void> = [];
afterEach(() => {
  for (const uninstall of uninstalls.splice(0).reverse()) uninstall();
});

for (const driver of [
  requestDriver,
  fetchDriver("undici's fetch", undiciFetch as unknown as typeof fetch, false),
  fetchDriver("Node's global fetch, installOidcDispatcher()", (...args) => fetch(...args), true),
]) {
  adapterContract(driver);
  adapterOidcContract(driver);
}

leakMatrix({
  name: 'undici request (redirect interceptor)',
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } }).compose(
      oidcInterceptor({ manager }),
      interceptors.redirect({ maxRedirections: 5 }),
    );
    return {
      get: async (url) => (await request(url, { dispatcher })).body.arrayBuffer(),
    };
  },
});

leakMatrix({
  name: "undici's fetch through the interceptor",
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } }).compose(
      oidcInterceptor({ manager }),
    );
    return {
      get: (url) => undiciFetch(url, { dispatcher }).then((r) => r.arrayBuffer()),
    };
  },
});

leakMatrix({
  name: "Node's global fetch, installOidcDispatcher()",
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } });
    uninstalls.push(installOidcDispatcher({ manager, dispatcher }));
    return { get: (url) => fetch(url).then((r) => r.arrayBuffer()) };
  },
});
