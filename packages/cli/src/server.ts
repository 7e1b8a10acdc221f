import {
  baseUrl,
  type Environment,
  FileTokenStore,
  normalizeHost,
  OidcDialect,
  parseSessionKey,
  printable,
  type SessionIdentity,
  type StoreCorruptEvent,
  TokenManager,
  type TokenManagerOptions,
  type TokenStore,
} from '@oidc-auth/core';
import { type Io, insecureHttp, portsOf, timeoutOf, UsageError, type Values } from './args.js';
import { showDeviceCode, type Terminal } from './display.js';

/** The session a command works on: a py-oidc-auth server, or a client of an OpenID Provider. */
export interface Server {
  /** What the manager is given; undefined when a program's options cannot be rebuilt here. */
  options: TokenManagerOptions | undefined;
  /** The store key (normalised host, or the session key `<issuer>#client_id=…`). */
  key: string;
  /** Whose tokens: server, client, grant, scopes, DPoP. */
  identity: SessionIdentity;
  /** Where py-oidc-auth routes live (prefix kept); undefined for an OpenID Provider. */
  base: string | undefined;
}

/** The server for messages: its host or issuer, and the client when there is one. */
export function label({ identity }: Pick<Server, 'identity'>): string {
  const client = identity.clientId;
  if (client === undefined) return printable(identity.server);
  const kind = [
    identity.grant === 'client_credentials' ? 'service account' : '',
    identity.dpop ? 'DPoP' : '',
    identity.scope && identity.scope !== 'offline_access openid' ? `scope ${identity.scope}` : '',
  ].filter(Boolean);
  const more = kind.length > 0 ? `, ${kind.join(', ')}` : '';
  return `${printable(identity.server)} (client ${printable(client)}${more})`;
}

/**
 * The store: the keychain when `main` set it up (`--store keyring`), else the token file, with
 * the command's warnings; `corrupt` collects a file moved aside.
 */
export function storeOf(values: Values, io: Io, corrupt?: StoreCorruptEvent[]): TokenStore {
  if (io.keyring) return io.keyring();
  return new FileTokenStore({
    ...(values.store ? { path: values.store } : {}),
    ...(values['app-name'] ? { appName: values['app-name'] } : {}),
    env: io.env,
    onInsecure: (event) => io.stderr.write(`oidc-auth: warning: ${printable(event.message)}\n`),
    onCorrupt: (event) => corrupt?.push(event),
  });
}

/** Where a store keeps its logins, for messages: the token file's path, or the keychain. */
export function placeOf(store: TokenStore): string {
  if (store instanceof FileTokenStore) return store.path;
  const service = (store as { service?: unknown }).service;
  return typeof service === 'string'
    ? `the OS keychain (service ${printable(service)})`
    : 'the store';
}

/** The server a command talks to: HOST, else the environment, with one parser for both. */
export function serverOf(
  host: string | undefined,
  command: string,
  values: Values,
  env: Environment,
): Server {
  // A port is never a host: `-p 53100 53101` hands the second port here.
  if (host !== undefined && /^\d+$/.test(host.trim())) {
    throw new UsageError(
      `${host} is a port, not a host: give several ports as -p 53100,${host} (or -p 53100 -p ${host}), and the host as https://…`,
    );
  }
  const clientId = values['client-id'] ?? (host ? undefined : env.OIDC_CLIENT_ID);
  const given = host ?? (clientId ? env.OIDC_ISSUER : env.OIDC_HOST) ?? '';
  if (!given.trim()) {
    throw new UsageError(
      `${command} needs a HOST (or OIDC_HOST, or OIDC_ISSUER and OIDC_CLIENT_ID), e.g. oidc-auth ${command} https://myapp.example.com`,
    );
  }
  if (values.scope !== undefined && !values['client-id']) {
    throw new UsageError(
      '--scope goes with --client-id (an OpenID Provider); a py-oidc-auth server chooses its own scopes',
    );
  }
  if (values.dpop && !clientId) {
    throw new UsageError('--dpop goes with --client-id: py-oidc-auth servers take bearer tokens');
  }
  if (clientId) {
    const scope = values.scope ?? (values['client-id'] ? undefined : env.OIDC_SCOPES);
    const options = {
      issuer: given,
      clientId,
      ...(scope ? { scopes: scope.replace(/,/g, ' ') } : {}),
      ...(values.dpop ? { dpop: true } : {}),
    };
    const { identity } = new OidcDialect(options);
    return { options, key: identity.key, identity, base: undefined };
  }
  const key = normalizeHost(given);
  return {
    options: {
      host: given,
      ...(values['login-route'] ? { loginRoute: values['login-route'] } : {}),
      ...(values['token-route'] ? { tokenRoute: values['token-route'] } : {}),
      ...(values['device-route'] ? { deviceRoute: values['device-route'] } : {}),
    },
    key,
    identity: parseSessionKey(key),
    base: baseUrl(given),
  };
}

/**
 * The server of a stored entry, from its key alone: a py-oidc-auth host, or a person's session
 * of an OpenID Provider (which can be refreshed here). A service account's entry, or an issuer
 * entry an earlier version wrote without its client, cannot be rebuilt: no options.
 */
export function serverOfKey(key: string): Server {
  const identity = parseSessionKey(key);
  if (identity.clientId !== undefined) {
    const options =
      identity.grant === 'login'
        ? {
            issuer: identity.server,
            clientId: identity.clientId,
            ...(identity.scope ? { scopes: identity.scope } : {}),
            ...(identity.dpop ? { dpop: true } : {}),
          }
        : undefined;
    return { options, key, identity, base: undefined };
  }
  const base = /^https?:\/\/[^/]+$/.test(key) ? key : undefined;
  return { options: base ? { host: base } : undefined, key, identity, base };
}

export function managerFor(
  server: Server,
  values: Values,
  io: Io,
  prompt: boolean,
  err: Terminal,
): TokenManager {
  const timeout = timeoutOf(values);
  const ports = portsOf(values);
  return new TokenManager({
    ...server.options,
    env: io.env,
    store: storeOf(values, io),
    ...(timeout ? { loginTimeout: timeout } : {}),
    ...(ports ? { redirectPorts: ports } : {}),
    ...(insecureHttp(values, io.env) ? { allowInsecureHttp: true } : {}),
    // No prompt: the manager's own rule (the same as the `prompt` given) decides, so a refusal
    // names the real reason — a batch job's variable, or no terminal.
    ...(prompt
      ? {
          onDeviceCode: (event) =>
            showDeviceCode(event, err, { browser: !values['no-browser'], env: io.env }),
        }
      : {}),
  } as TokenManagerOptions);
}
