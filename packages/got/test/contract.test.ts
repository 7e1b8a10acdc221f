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
import got, { HTTPError, type OptionsInit, RequestError, type Response } from 'got';
import { withOidc } from '../src/index.js';

async function options(body: BodyKind | undefined): Promise<OptionsInit> {
  if (!body) return {};
  switch (body.kind) {
    case 'json':
      return { json: body.value };
    case 'text':
      return { body: body.value };
    case 'urlencoded':
      return { form: Object.fromEntries(body.value) };
    case 'multipart':
      return { body: body.value };
    case 'blob':
      return { body: Buffer.from(await body.value.arrayBuffer()) };
    case 'bytes':
      return { body: Buffer.from(body.value) };
    case 'stream':
      return {};
  }
}

const driver: AdapterDriver = {
  name: 'got',
  bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes'],
  replaysStreams: false,
  create(adapterOptions, baseUrl, lenient) {
    const api = got.extend(
      {
        retry: { limit: 0 },
        ...(baseUrl ? { prefixUrl: baseUrl } : {}),
        ...(lenient ? { throwHttpErrors: false } : {}),
      },
      withOidc(adapterOptions),
    );
    return {
      async send(request): Promise<Outcome> {
        try {
          const res = (await api(request.url, {
            method: request.method,
            ...(await options(request.body)),
            ...(request.signal ? { signal: request.signal } : {}),
          })) as Response<string>;
          const json = bodyOf(res.body);
          return { status: res.statusCode, json };
        } catch (error) {
          return { error };
        }
      },
    };
  },
  isFinal401: (outcome) =>
    'error' in outcome &&
    outcome.error instanceof HTTPError &&
    outcome.error.response.statusCode === 401,
  authErrorOf: (outcome) => {
    if (!('error' in outcome)) return undefined;
    if (isAuthError(outcome.error)) return outcome.error;
    const cause = outcome.error instanceof RequestError ? outcome.error.cause : undefined;
    return isAuthError(cause) ? cause : undefined;
  },
};

adapterContract(driver);
adapterOidcContract(driver);

leakMatrix({
  name: 'got',
  createOn(network, manager) {
    const api = got.extend(
      {
        dnsLookup: network.lookup,
        https: { certificateAuthority: network.ca },
        retry: { limit: 0 },
      },
      withOidc({ manager }),
    );
    return { get: (url) => api.get(url).buffer() };
  },
});
