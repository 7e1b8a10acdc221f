import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AuthError,
  baseUrl,
  type Environment,
  ErrorCode,
  FileTokenStore,
  isAuthError,
  isInteractive,
  isLoopbackHost,
  normalizeHost,
  normalizeIssuer,
  printable,
  type StoreCorruptEvent,
  type Token,
  TokenManager,
  type TokenManagerOptions,
} from '@oidc-auth/core';
import { bold, type Output, showDeviceCode, type Terminal, terminal } from './display.js';
import { isoTime, localTime } from './format.js';
import { type Answer, get, jsonOf } from './http-get.js';

export const usage = `Usage: oidc-auth <command> [HOST] [options]

Commands:
  login HOST      log in (stored token, refresh, or device login) and store the token
  token HOST      print the access token, refreshing when needed (never prompts off a terminal)
  status [HOST]   which logins exist, for whom, until when, and whether the server accepts them
  list            list stored logins: host, access valid until, refresh valid until
  remove HOST     forget the stored login of HOST
  clear           forget every stored login

HOST may be left out when OIDC_HOST (or OIDC_ISSUER and OIDC_CLIENT_ID) is set.

Options:
  --force               login: run a new device login even with a valid token
  --timeout S           login: seconds to wait for approval (default 600)
  --no-browser          login: do not open the browser
  --header              token: print "Authorization: Bearer …"
  --json                print JSON (login, token: the token; status, list: the entries)
  --with-refresh        with --json: include the refresh token (left out by default)
  --store PATH          token file (default: OIDC_TOKEN_FILE, else the py-oidc-auth cache file)
  --app-name NAME       cache folder name (default py-oidc-auth)
  --login-route R, --token-route R, --device-route R   server routes (default /auth/v2/…)
  --client-id ID        HOST is an OpenID Provider's issuer; log in as this public client
  --scope "A B"         with --client-id: scopes to ask for (default "openid offline_access")
  --dpop                with --client-id: DPoP-bound tokens (RFC 9449), for programs using
                        the library's adapters; \`token\` cannot print a usable header for them
  -p, --ports P,P       ports the browser login may listen on for its callback, in order
                        (default 53100-53105; -p 53100 -p 53101 works too)
  --allow-insecure-http allow plain http to a host that is not this machine (tokens travel
                        in clear text; or set OIDC_ALLOW_INSECURE_HTTP=1)
  -V, --version         the version
  -h, --help            this text

The Python client's spellings work too: oidc-auth HOST, --list, --clear, --remove HOST.
Exit codes: 0 success, 1 authentication failure, 2 usage error.`;

/** The command's world, passed in so that tests can run it in-process too. */
export interface Io {
  stdout: Output;
  stderr: Output;
  env: Environment;
}

class UsageError extends Error {}

const options = {
  force: { type: 'boolean' },
  timeout: { type: 'string' },
  'no-browser': { type: 'boolean' },
  header: { type: 'boolean' },
  json: { type: 'boolean' },
  'with-refresh': { type: 'boolean' },
  store: { type: 'string' },
  'app-name': { type: 'string' },
  'login-route': { type: 'string', short: 'l' },
  'token-route': { type: 'string', short: 't' },
  'device-route': { type: 'string', short: 'd' },
  'client-id': { type: 'string' },
  scope: { type: 'string' },
  dpop: { type: 'boolean' },
  ports: { type: 'string', short: 'p', multiple: true },
  'allow-insecure-http': { type: 'boolean' },
  list: { type: 'boolean' },
  clear: { type: 'boolean' },
  remove: { type: 'string' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Node's parseArgs messages, in our words and on one line. */
function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]}`);
    const needs = /Option '(-[^' ]+)(?:, (--[^' ]+))?/.exec(message);
    const name = needs?.[2] ?? needs?.[1];
    if (name && /ambiguous/.test(message)) {
      throw new UsageError(
        `${name} needs a value; write ${name}=VALUE for one that starts with "-"`,
      );
    }
    if (name && /missing/.test(message)) throw new UsageError(`${name} needs a value`);
    throw new UsageError(message.split('\n')[0] ?? message);
  }
}

type Values = ReturnType<typeof parse>['values'];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** The token file, with the command's warnings; `corrupt` collects a file moved aside. */
function storeOf(values: Values, io: Io, corrupt?: StoreCorruptEvent[]): FileTokenStore {
  return new FileTokenStore({
    ...(values.store ? { path: values.store } : {}),
    ...(values['app-name'] ? { appName: values['app-name'] } : {}),
    env: io.env,
    onInsecure: (event) => io.stderr.write(`oidc-auth: warning: ${printable(event.message)}\n`),
    onCorrupt: (event) => corrupt?.push(event),
  });
}

/** The server a command talks to: HOST, else the environment, with one parser for both. */
interface Server {
  /** What the manager is given. */
  options: TokenManagerOptions;
  /** The store key (normalised host or issuer). */
  key: string;
  /** Where py-oidc-auth routes live (prefix kept); undefined for an OpenID Provider. */
  base: string | undefined;
}

function serverOf(
  host: string | undefined,
  command: string,
  values: Values,
  env: Environment,
): Server {
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
    return {
      options: {
        issuer: given,
        clientId,
        ...(scope ? { scopes: scope.replace(/,/g, ' ') } : {}),
        ...(values.dpop ? { dpop: true } : {}),
      },
      key: normalizeIssuer(given),
      base: undefined,
    };
  }
  return {
    options: {
      host: given,
      ...(values['login-route'] ? { loginRoute: values['login-route'] } : {}),
      ...(values['token-route'] ? { tokenRoute: values['token-route'] } : {}),
      ...(values['device-route'] ? { deviceRoute: values['device-route'] } : {}),
    },
    key: normalizeHost(given),
    base: baseUrl(given),
  };
}

function timeoutOf(values: Values): number | undefined {
  if (values.timeout === undefined) return undefined;
  const timeout = Number(values.timeout);
  if (!(timeout > 0) || !Number.isFinite(timeout)) {
    throw new UsageError(`--timeout needs a positive number of seconds, got ${values.timeout}`);
  }
  return timeout;
}

/** `-p 53100,53101 -p 53102`: the browser login's ports, in order. */
function portsOf(values: Values): number[] | undefined {
  if (!values.ports) return undefined;
  const ports = values.ports.flatMap((value) => value.split(',')).map((p) => p.trim());
  if (ports.some((port) => !/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(
      `-p/--ports needs port numbers (1-65535), e.g. -p 53100,53101; got ${values.ports.join(' ')}`,
    );
  }
  return ports.map(Number);
}

/** `--allow-insecure-http`, or OIDC_ALLOW_INSECURE_HTTP=1 (or true/yes). */
function insecureHttp(values: Values, env: Environment): boolean {
  const flag = env.OIDC_ALLOW_INSECURE_HTTP?.trim().toLowerCase();
  return values['allow-insecure-http'] === true || ['1', 'true', 'yes'].includes(flag ?? '');
}

function managerFor(server: Server, values: Values, io: Io, prompt: boolean, err: Terminal) {
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

/** Whether the server accepts a token now: a real request to py-oidc-auth's userinfo route. */
interface Check {
  accepted: boolean | undefined;
  user?: string;
  why?: string;
  /** The session is over: the refresh token was refused or has expired. */
  ended?: boolean;
  /** Nothing could be tried here (an OpenID Provider's entry without its client id). */
  unchecked?: boolean;
}

/**
 * For `status` of an expired access token: a refresh, never a login. The new token, or what
 * stands in the way: the session ended (the refresh was refused), or the server could not say.
 */
async function renew(server: Server, values: Values, io: Io): Promise<{ token: Token } | Check> {
  if (!server.base && !('clientId' in server.options)) {
    return {
      accepted: undefined,
      unchecked: true,
      why: 'an OpenID Provider: pass --client-id to refresh here',
    };
  }
  const manager = managerFor(server, values, io, false, terminal(io.stderr, io.env));
  try {
    return { token: await manager.getToken() };
  } catch (error) {
    if (isAuthError(error) && error.code === ErrorCode.LOGIN_REQUIRED) {
      return { accepted: false, ended: true };
    }
    return {
      accepted: undefined,
      why: isAuthError(error) ? error.message : 'the refresh failed',
    };
  } finally {
    manager.close();
  }
}

/** The provider's userinfo endpoint, from its discovery document; undefined when it has none. */
async function userinfoEndpoint(issuer: string): Promise<string | undefined> {
  const res = await get(`${issuer}/.well-known/openid-configuration`, {});
  if (res.status !== 200) return undefined;
  const endpoint = jsonOf(res).userinfo_endpoint;
  if (typeof endpoint !== 'string') return undefined;
  const url = new URL(endpoint);
  // The token goes there: only over https, or to this machine.
  return url.protocol === 'https:' || isLoopbackHost(url.hostname) ? url.href : undefined;
}

/**
 * Whether an OpenID Provider accepts the token: a userinfo request, with a DPoP proof for a
 * DPoP-bound token (and once more with the provider's nonce when it asks for one).
 */
async function checkWithProvider(server: Server, token: Token, manager: TokenManager) {
  try {
    const endpoint = await userinfoEndpoint(server.key);
    if (!endpoint) return { accepted: undefined, why: 'the provider has no userinfo endpoint' };
    const ask = async () => {
      const auth = manager.dpop
        ? await manager.authHeaders('GET', endpoint)
        : { authorization: `${token.token_type} ${token.access_token}` };
      return get(endpoint, {
        authorization: auth.authorization,
        ...(auth.dpop ? { dpop: auth.dpop } : {}),
      });
    };
    let res = await ask();
    if (res.status === 401 && manager.dpopAnswer(endpoint, res.headers)) res = await ask();
    if (res.status === 401) return { accepted: false };
    if (res.status !== 200)
      return { accepted: undefined, why: `userinfo answered HTTP ${res.status}` };
    return accepted(res);
  } catch {
    return { accepted: undefined, why: 'the provider could not be reached' };
  }
}

/** A userinfo answer that accepted the token, with who it names. */
function accepted(res: Answer): Check {
  const body = jsonOf(res);
  const user = [body.preferred_username, body.email, body.sub].find((v) => typeof v === 'string');
  return { accepted: true, ...(user ? { user: printable(String(user)) } : {}) };
}

async function check(server: Server, token: Token, manager?: TokenManager): Promise<Check> {
  if (!server.base) {
    return manager
      ? checkWithProvider(server, token, manager)
      : { accepted: undefined, why: 'an OpenID Provider: not checked' };
  }
  try {
    const res = await get(`${server.base}/auth/v2/userinfo`, {
      authorization: `${token.token_type} ${token.access_token}`,
    });
    if (res.status === 401) return { accepted: false };
    if (res.status < 200 || res.status > 299)
      return { accepted: undefined, why: `the server has no userinfo route (HTTP ${res.status})` };
    return accepted(res);
  } catch {
    return { accepted: undefined, why: 'the server could not be reached' };
  }
}

/** Who logged in, from the verified ID token (an OpenID Provider's login); undefined if unknown. */
async function userOf(manager: TokenManager): Promise<string | undefined> {
  const claims = await manager.claims().catch(() => undefined);
  const user = [claims?.email, claims?.preferred_username, claims?.sub].find(
    (value) => typeof value === 'string' && value !== '',
  );
  return user === undefined ? undefined : printable(String(user));
}

/** A token the server accepts: the stored one, or — when the server refuses it — a recovered one. */
async function verified(manager: TokenManager, server: Server, token: Token) {
  let result = await check(server, token, manager);
  if (result.accepted !== false) return { token, result };
  const recovered = await manager.recover(token.access_token);
  result = await check(server, recovered, manager);
  if (result.accepted === false) {
    throw new AuthError(
      ErrorCode.SERVER_ERROR,
      `The server at ${server.key} refuses even a fresh token; check with its operator, then run: oidc-auth login ${server.base ?? server.key} --force`,
    );
  }
  return { token: recovered, result };
}

function printToken(token: Token, values: Values, io: Io): void {
  if (values.json) {
    // The refresh token is the long-lived secret: shown only when asked for. A DPoP key
    // never: it is what makes a stolen token useless.
    const { dpop_key: _key, ...unkeyed } = token;
    const { refresh_token: _, ...rest } = unkeyed;
    const shown = values['with-refresh'] ? unkeyed : rest;
    const times = {
      expires_at: isoTime(token.expires),
      refresh_expires_at: isoTime(token.refresh_expires),
    };
    io.stdout.write(`${JSON.stringify({ ...shown, ...times }, null, 2)}\n`);
  } else if (values.header) {
    io.stdout.write(`Authorization: ${token.token_type} ${token.access_token}\n`);
  } else {
    io.stdout.write(`${token.access_token}\n`);
  }
}

/** At most `count` positional arguments after the command. */
function arity(command: string, rest: string[], count: number): void {
  if (rest.length > count) {
    const what = count === 0 ? 'no arguments' : 'one HOST';
    // The Python CLI's `-p 53100 53101`: the second port arrives here.
    const ports = rest.slice(count).every((arg) => /^\d+$/.test(arg))
      ? '; give several ports as -p 53100,53101 (or -p 53100 -p 53101)'
      : '';
    throw new UsageError(`${command} takes ${what}, got: ${rest.join(' ')}${ports}`);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout.write(`oidc-auth ${version()}\n`);
    return 0;
  }
  if (values.header && values.json)
    throw new UsageError('--header and --json cannot be used together');
  if (values['with-refresh'] && !values.json)
    throw new UsageError('--with-refresh goes with --json');
  timeoutOf(values);
  portsOf(values);
  let [command, ...rest] = positionals;
  if (values.list) command = 'list';
  else if (values.clear) command = 'clear';
  else if (values.remove !== undefined) [command, rest] = ['remove', [values.remove, ...rest]];
  else if (command && /^https?:\/\/|\./.test(command))
    [command, rest] = ['login', [command, ...rest]];
  const err = terminal(io.stderr, io.env);

  switch (command) {
    case 'login':
    case 'token': {
      arity(command, rest, 1);
      const server = serverOf(rest[0], command, values, io.env);
      const prompt = command === 'login' || isInteractive(io.env);
      const manager = managerFor(server, values, io, prompt, err);
      try {
        const first = await (values.force && command === 'login'
          ? manager.login()
          : manager.getToken());
        const { token, result } = await verified(manager, server, first).catch((error: unknown) => {
          if (error instanceof UsageError) {
            throw Object.assign(
              new Error(
                `The server at ${server.key} does not accept the new token either; check the server, then run: oidc-auth login ${server.base ?? server.key} --force`,
              ),
              { exit: 1 },
            );
          }
          throw error;
        });
        if (command === 'token' && !values.json && manager.dpop) {
          throw new UsageError(
            `the token of ${server.key} is DPoP-bound: every request needs its own proof, so a printed header would be refused. Use it through the library (authHeaders or an adapter), or print it with --json`,
          );
        }
        if (command === 'token' || values.json) printToken(token, values, io);
        else {
          const user = result.user ?? (await userOf(manager));
          const who = user ? ` as ${user}` : '';
          io.stderr.write(
            `Logged in to ${server.key}${who}; the token is valid until ${localTime(token.expires)}.\n`,
          );
        }
        return 0;
      } finally {
        manager.close();
      }
    }
    case 'status':
      arity(command, rest, 1);
      return status(rest[0], values, io);
    case 'list':
      arity(command, rest, 0);
      return list(values, io);
    case 'remove': {
      arity(command, rest, 1);
      const server = serverOf(rest[0], command, values, io.env);
      const removed = await storeOf(values, io).remove(server.key);
      io.stderr.write(
        removed ? `Removed the login of ${server.key}.\n` : `No stored login for ${server.key}.\n`,
      );
      return removed ? 0 : 1;
    }
    case 'clear': {
      arity(command, rest, 0);
      await storeOf(values, io).clear();
      io.stderr.write('Removed every stored login.\n');
      return 0;
    }
    case undefined:
      throw new UsageError('a command is needed: login, token, status, list, remove or clear');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Reports a token file that could not be read and was moved aside; true when there was one. */
function reportCorrupt(corrupt: StoreCorruptEvent[], io: Io): boolean {
  for (const event of corrupt) {
    io.stderr.write(
      `oidc-auth: the token file ${event.path} could not be read (${event.reason}); it was moved aside to ${event.movedTo}, nothing was deleted.\n`,
    );
  }
  return corrupt.length > 0;
}

async function list(values: Values, io: Io): Promise<number> {
  const corrupt: StoreCorruptEvent[] = [];
  const store = storeOf(values, io, corrupt);
  const rows = [];
  for (const host of (await store.hosts()).sort()) {
    const entry = await store.get(host);
    if (entry)
      rows.push({
        host,
        expires: entry.token.expires,
        refresh_expires: entry.token.refresh_expires,
      });
  }
  if (values.json) {
    const json = rows.map((r) => ({
      host: r.host,
      expires: isoTime(r.expires),
      refresh_expires: isoTime(r.refresh_expires),
    }));
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else if (rows.length === 0) {
    if (corrupt.length === 0) io.stdout.write(`No stored logins in ${store.path}.\n`);
  } else {
    const out = terminal(io.stdout, io.env);
    io.stdout.write(
      `${bold(out, 'HOST')}\t${bold(out, 'ACCESS VALID UNTIL')}\t${bold(out, 'REFRESH VALID UNTIL')}\n`,
    );
    for (const row of rows) {
      io.stdout.write(
        `${printable(row.host)}\t${localTime(row.expires)}\t${localTime(row.refresh_expires)}\n`,
      );
    }
  }
  return reportCorrupt(corrupt, io) ? 1 : 0;
}

async function status(host: string | undefined, values: Values, io: Io): Promise<number> {
  const corrupt: StoreCorruptEvent[] = [];
  const store = storeOf(values, io, corrupt);
  const fromEnv = !host && (io.env.OIDC_HOST || (io.env.OIDC_ISSUER && io.env.OIDC_CLIENT_ID));
  const servers =
    host || fromEnv
      ? [serverOf(host, 'status', values, io.env)]
      : (await store.hosts()).sort().map((key) => {
          const base = /^https?:\/\/[^/]+$/.test(key) ? key : undefined;
          return { options: base ? { host: base } : {}, key, base } as Server;
        });
  const now = Date.now() / 1000;
  const rows = [];
  let failed = reportCorrupt(corrupt, io);
  for (const server of servers) {
    const entry = await store.get(server.key);
    if (!entry) {
      rows.push({ host: server.key, loggedIn: false as const });
      failed = true;
      continue;
    }
    let { token } = entry;
    let accessValid = token.expires > now;
    const refreshValid = token.refresh_token !== '' && token.refresh_expires > now;
    let result: Check;
    let refreshed = false;
    if (accessValid) result = await check(server, token);
    else if (!refreshValid) result = { accepted: false, ended: true };
    else {
      // Expired: only a refresh can tell whether the session is still alive.
      const renewal = await renew(server, values, io);
      if ('token' in renewal) {
        ({ token } = renewal);
        accessValid = true;
        refreshed = true;
        result = await check(server, token);
      } else result = renewal;
    }
    // Failed: refused, ended, or expired and the refresh could not say (an OpenID Provider's
    // session without --client-id cannot be refreshed here: unknown, as before).
    if (
      result.accepted === false ||
      (result.accepted === undefined && !accessValid && !result.unchecked)
    )
      failed = true;
    rows.push({
      host: server.key,
      loggedIn: true as const,
      token,
      result,
      accessValid,
      refreshValid,
      refreshed,
    });
  }
  if (rows.length === 0) failed = true;
  if (values.json) {
    const json = rows.map((row) =>
      row.loggedIn
        ? {
            host: row.host,
            user: row.result.user ?? null,
            expires: isoTime(row.token.expires),
            refresh_expires: isoTime(row.token.refresh_expires),
            accepted: row.result.accepted ?? null,
            session: row.result.ended ? 'ended' : 'active',
          }
        : { host: row.host, loggedIn: false },
    );
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  if (rows.length === 0 && corrupt.length === 0)
    io.stdout.write(`No stored logins in ${store.path}.\n`);
  for (const row of rows) {
    io.stdout.write(`${printable(row.host)}\n`);
    if (!row.loggedIn) {
      io.stdout.write(`  not logged in: run oidc-auth login ${printable(row.host)}\n`);
      continue;
    }
    const { token, result } = row;
    if (result.user) io.stdout.write(`  user:     ${result.user}\n`);
    if (result.ended) {
      io.stdout.write(`  session:  ended (the refresh token was refused or has expired)\n`);
      io.stdout.write(`  next:     run oidc-auth login ${printable(row.host)}\n`);
      continue;
    }
    io.stdout.write(
      `  access:   ${row.refreshed ? 'refreshed, valid until' : row.accessValid ? 'valid until' : 'expired'} ${localTime(token.expires)}\n`,
    );
    io.stdout.write(
      `  refresh:  ${row.refreshValid ? `valid until ${localTime(token.refresh_expires)}` : 'none or expired: log in again when the access token ends'}\n`,
    );
    const verdict =
      result.accepted === true
        ? 'accepts the token'
        : result.accepted === false
          ? `refuses the token: run oidc-auth login ${printable(row.host)}`
          : `not checked (${result.why ?? 'unknown'})`;
    io.stdout.write(`  server:   ${verdict}\n`);
  }
  return failed ? 1 : 0;
}

/** Whether a host name resolves; undefined when the resolver cannot say within 3 s. */
async function resolves(hostname: string): Promise<boolean | undefined> {
  const { lookup } = await import('node:dns/promises');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, 3000, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([
      lookup(hostname).then(
        () => true,
        (error: NodeJS.ErrnoException) =>
          error.code === 'ENOTFOUND' || error.code === 'EAI_NONAME' ? false : undefined,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** "did you mean localhost?" for `localhsot`, `locahost`, `loclahost`. */
function likelyLocalhost(hostname: string): string {
  const a = hostname.toLowerCase();
  const b = 'localhost';
  if (a === b || Math.abs(a.length - b.length) > 2) return '';
  const sorted = (text: string) => [...text].sort().join('');
  const near = sorted(a) === sorted(b) || [...b].filter((c, i) => a[i] !== c).length <= 2;
  return near ? ' (did you mean localhost?)' : '';
}

/** Messages for shell users: what happened and the command to run, never library advice. */
async function forShell(error: AuthError): Promise<string> {
  const detail = error.detail as
    | {
        reason?: string;
        command?: string;
        sessionEnded?: boolean;
        insecureUrl?: string;
        hostname?: string;
        code?: string;
      }
    | undefined;
  if (error.code === ErrorCode.LOGIN_REQUIRED && detail?.command) {
    return detail.sessionEnded
      ? `The session ended: the server refused the refresh token. Log in again: ${detail.command}`
      : `No valid login, and ${detail.reason ?? 'no terminal to log in from'}. Log in first: ${detail.command}`;
  }
  if (detail?.insecureUrl && detail.hostname) {
    // A misspelt name first: allowing plain http to a host that does not exist helps nobody.
    if ((await resolves(detail.hostname)) === false) {
      return `The host "${detail.hostname}" does not exist${likelyLocalhost(detail.hostname)}: check the host name.`;
    }
    return `The server ${detail.insecureUrl} is not https: tokens would travel in clear text. Use https, or pass --allow-insecure-http (or set OIDC_ALLOW_INSECURE_HTTP=1) for a server you trust on a private network.`;
  }
  if (detail?.code === 'ENOTFOUND' && detail.hostname) {
    return `${error.message.replace(/\.$/, '')}${likelyLocalhost(detail.hostname)}.`;
  }
  return error.message;
}

/** Runs the command line; resolves with the exit code. Errors become one line on stderr. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`oidc-auth: ${printable(error.message)} (see oidc-auth --help)\n`);
      return 2;
    }
    if (isAuthError(error)) {
      io.stderr.write(`oidc-auth: ${printable(await forShell(error))}\n`);
      return error.code === ErrorCode.INVALID_OPTIONS ? 2 : 1;
    }
    io.stderr.write(`oidc-auth: ${printable((error as Error)?.message ?? String(error))}\n`);
    return 1;
  }
}
