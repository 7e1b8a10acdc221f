import { Agent as HttpAgent, type AgentOptions as HttpAgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
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
import nodeFetch from 'node-fetch';
import { Agent } from 'undici';
import { oidcFetch } from '../src/index.js';

function init(body: BodyKind | undefined): RequestInit {
  if (!body) return {};
  switch (body.kind) {
    case 'json':
      return { body: JSON.stringify(body.value), headers: { 'content-type': 'application/json' } };
    case 'stream':
      return { body: body.value(), duplex: 'half' } as RequestInit;
    default:
      return { body: body.value };
  }
}

const driver: AdapterDriver = {
  name: 'fetch',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes', 'stream'],
  replaysStreams: false,
  create(options, baseUrl) {
    const fetch = oidcFetch(options);
    return {
      async send(request): Promise<Outcome> {
        try {
          const url = baseUrl ? new URL(request.url, baseUrl).href : request.url;
          const res = await fetch(url, {
            method: request.method,
            ...init(request.body),
            ...(request.signal ? { signal: request.signal } : {}),
          });
          const text = await res.text();
          const json = bodyOf(text);
          return { status: res.status, json };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) => !('error' in outcome) && outcome.status === 401,
  authErrorOf: (outcome) =>
    'error' in outcome && isAuthError(outcome.error) ? outcome.error : undefined,
};

adapterContract(driver);
adapterOidcContract(driver);

leakMatrix({
  name: "fetch (undici's)",
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } });
    const wrapped = oidcFetch({ manager });
    return {
      get: (url) => wrapped(url, { dispatcher } as RequestInit).then((r) => r.arrayBuffer()),
    };
  },
});

leakMatrix({
  name: 'fetch (node-fetch 3)',
  createOn(network, manager) {
    const plain = new HttpAgent({ lookup: network.lookup } as HttpAgentOptions);
    const tls = new HttpsAgent({ ca: network.ca, lookup: network.lookup });
    const wrapped = oidcFetch({ manager, fetch: nodeFetch as unknown as typeof fetch });
    const agent = (url: URL) => (url.protocol === 'https:' ? tls : plain);
    return {
      get: (url) => wrapped(url, { agent } as RequestInit).then((r) => r.arrayBuffer()),
    };
  },
});
