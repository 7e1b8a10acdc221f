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
import ky, { HTTPError, type Options } from 'ky';
import { Agent } from 'undici';
import { withOidc } from '../src/index.js';
import { prefixed } from './ky-version.js';

function options(body: BodyKind | undefined): Options {
  if (!body) return {};
  switch (body.kind) {
    case 'json':
      return { json: body.value };
    case 'stream':
      return { body: body.value(), duplex: 'half' } as Options;
    default:
      return { body: body.value };
  }
}

function driver(name: string, extra: Options): AdapterDriver {
  return {
    name,
    bodies: ['json', 'text', 'urlencoded', 'multipart', 'blob', 'bytes', 'stream'],
    replaysStreams: true,
    create(adapterOptions, baseUrl, lenient) {
      const api = ky
        .extend({
          ...extra,
          ...(baseUrl ? prefixed(baseUrl) : {}),
          ...(lenient ? { throwHttpErrors: false } : {}),
        })
        .extend(withOidc(adapterOptions));
      return {
        async send(request): Promise<Outcome> {
          try {
            const res = await api(request.url, {
              method: request.method,
              ...options(request.body),
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
    isFinal401: (outcome) =>
      'error' in outcome &&
      outcome.error instanceof HTTPError &&
      outcome.error.response.status === 401,
    authErrorOf: (outcome) =>
      'error' in outcome && isAuthError(outcome.error) ? outcome.error : undefined,
  };
}

adapterContract(driver('ky', {}));
adapterContract(driver('ky with retry: 0', { retry: 0 }));
adapterOidcContract(driver('ky', {}));

leakMatrix({
  name: 'ky',
  createOn(network, manager) {
    const dispatcher = new Agent({ connect: { lookup: network.lookup, ca: network.ca } });
    const api = ky.create({ retry: 0, dispatcher } as Options).extend(withOidc({ manager }));
    return { get: (url) => api.get(url).arrayBuffer() };
  },
});
