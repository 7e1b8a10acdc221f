import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  type AdapterDriver,
  adapterContract,
  adapterOidcContract,
  type BodyKind,
  leakMatrix,
  type Outcome,
} from '@oidc-auth/contract';
import { isAuthError } from '@oidc-auth/core';
import axios, { type AxiosRequestConfig } from 'axios';
import { Agent } from 'undici';
import { oidcAuth } from '../src/index.js';

function data(body: BodyKind | undefined): unknown {
  if (!body) return undefined;
  // axios in Node sends Node streams.
  return body.kind === 'stream' ? Readable.fromWeb(body.value() as never) : body.value;
}

const driver: AdapterDriver = {
  name: 'axios',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes', 'stream'],
  replaysStreams: false,
  create(options, baseUrl, lenient) {
    const instance = axios.create({
      ...(baseUrl ? { baseURL: baseUrl } : {}),
      ...(lenient ? { validateStatus: () => true } : {}),
    });
    oidcAuth(options)(instance);
    return {
      async send(request): Promise<Outcome> {
        const config: AxiosRequestConfig = {
          method: request.method,
          url: request.url,
          data: data(request.body),
          ...(request.body?.kind === 'text' ? { headers: { 'content-type': 'text/plain' } } : {}),
          ...(request.signal ? { signal: request.signal } : {}),
        };
        try {
          const res = await instance.request(config);
          return { status: res.status, json: res.data };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) =>
    'error' in outcome &&
    axios.isAxiosError(outcome.error) &&
    outcome.error.response?.status === 401,
  authErrorOf: (outcome) =>
    'error' in outcome && isAuthError(outcome.error) ? outcome.error : undefined,
};

adapterContract(driver);
adapterOidcContract(driver);

leakMatrix({
  name: 'axios (http adapter)',
  createOn(network, manager) {
    const api = axios.create({
      adapter: 'http',
      lookup: network.lookup,
      httpsAgent: new HttpsAgent({ ca: network.ca, lookup: network.lookup }),
    } as AxiosRequestConfig);
    oidcAuth({ manager })(api);
    return { get: (url) => api.get(url) };
  },
});

leakMatrix({
  name: 'axios (fetch adapter)',
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } });
    const api = axios.create({
      adapter: 'fetch',
      fetchOptions: { dispatcher },
    } as AxiosRequestConfig);
    oidcAuth({ manager })(api);
    return { get: (url) => api.get(url) };
  },
});
