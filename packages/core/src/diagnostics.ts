import { base } from '#platform/base';
import { oauthErrorLabel } from './oauth-error.js';

/**
 * The `node:diagnostics_channel` channels core publishes on, for tracers and metrics (the
 * `@oidc-auth/otel` package, or your own subscriber). Tracing channels carry a context object
 * through `start`, `end`, `asyncStart`, `asyncEnd` and `error` (Node's `tracingChannel`); the
 * others carry one message. Payloads name the host (and client), the grant, the outcome, the HTTP status and
 * the OAuth error code: never a token, a secret, a proof or a key. With nobody subscribed a
 * channel costs one property read; the request path (a valid token attached) publishes nothing.
 */
export const diagnosticsChannels = {
  /** Tracing: a login (device, browser, or a service account's client credentials). */
  login: 'oidc-auth:login',
  /** Tracing: a refresh, from taking the store's lock to the new token stored. */
  refresh: 'oidc-auth:refresh',
  /** Tracing: one request to the auth server (discovery, keys, device, token), retries included. */
  tokenRequest: 'oidc-auth:token-request',
  /** Tracing: a 401 recovery (`recover()`): the token was replaced, refreshed, or a login ran. */
  recover: 'oidc-auth:recover',
  /** Tracing: an RFC 8693 token exchange. */
  exchange: 'oidc-auth:exchange',
  /** Tracing: waiting for the store's lock (ends when it is held). */
  storeLock: 'oidc-auth:store-lock',
  /** Plain: a token another process (or tab) stored was taken into use. */
  tokenAdopted: 'oidc-auth:token-adopted',
  /** Plain: the store could not be read or written. */
  storeError: 'oidc-auth:store-error',
  /**
   * Plain: an API answered 401 to a request that carried no token because its origin is not
   * one the adapter serves (once per origin): `{host, origin, served, hint}`.
   */
  unservedOrigin: 'oidc-auth:unserved-origin',
} as const;

/** What every tracing context carries; the fields filled as they become known. */
export interface TraceContext {
  /** The server: a py-oidc-auth host, or the provider's issuer. */
  host: string;
  /** The client id (OpenID Providers): with `host`, which session it was. */
  client?: string;
  /** `refresh_token`, `device_code`, `authorization_code`, `client_credentials`, … */
  grant?: string;
  /** How it ended: `success`, or what went wrong (`refused`, `error`, …). */
  outcome?: string;
  /** The last HTTP status from the auth server, when there was one. */
  status?: number;
  /** The OAuth error code (`invalid_grant`, …), when the server sent one. */
  oauthError?: string;
  /** Set by Node on the `error` channel: a typed `AuthError` (whose messages hold no secrets). */
  error?: unknown;
  [key: string]: unknown;
}

type Tracing = {
  readonly hasSubscribers: boolean;
  tracePromise<T>(fn: () => Promise<T>, context: object): Promise<T>;
};
type Plain = { readonly hasSubscribers: boolean; publish(message: unknown): void };

const tracings = new Map<string, Tracing | null>();
const plains = new Map<string, Plain | null>();

function tracingFor(name: string): Tracing | null {
  let channel = tracings.get(name);
  if (channel === undefined) {
    const dc = base.diagnosticsChannel();
    // Where a runtime has no tracing channels, nothing is traced and nothing breaks.
    channel =
      typeof dc?.tracingChannel === 'function' ? (dc.tracingChannel(name) as Tracing) : null;
    tracings.set(name, channel);
  }
  return channel;
}

/**
 * Runs `fn` inside the tracing channel `name` when someone subscribes; its result is kept out
 * of the context (it may be a token), so subscribers see only what `context` says.
 */
export async function traced<T>(
  name: string,
  context: TraceContext,
  fn: (context: TraceContext) => Promise<T>,
): Promise<T> {
  const channel = tracingFor(name);
  if (!channel?.hasSubscribers) return fn(context);
  let result: T | undefined;
  await channel.tracePromise(async () => {
    try {
      result = await fn(context);
      context.outcome ??= 'success';
    } catch (error) {
      context.outcome ??= 'error';
      const { status, detail } = (error ?? {}) as { status?: unknown; detail?: unknown };
      if (typeof status === 'number') context.status ??= status;
      const code = (detail as { error?: unknown } | undefined)?.error;
      if (typeof code === 'string') context.oauthError ??= oauthErrorLabel(code);
      throw error;
    }
  }, context);
  return result as T;
}

/** Publishes `message` on the plain channel `name` when someone subscribes. */
export function publish(name: string, message: () => Record<string, unknown>): void {
  let channel = plains.get(name);
  if (channel === undefined) {
    const dc = base.diagnosticsChannel();
    channel = typeof dc?.channel === 'function' ? (dc.channel(name) as Plain) : null;
    plains.set(name, channel);
  }
  if (channel?.hasSubscribers) channel.publish(message());
}
