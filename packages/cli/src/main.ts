import { parseArgs } from 'node:util';
import {
  AuthError,
  ErrorCode,
  FileTokenStore,
  isAuthError,
  isInteractive,
  normalizeHost,
  normalizeIssuer,
  printable,
  type Token,
  TokenManager,
} from '@oidc-auth/core';
import { bold, showDeviceCode, type Terminal, terminal } from './display.js';

export const usage = `Usage: oidc-auth <command> [options]

Commands:
  login HOST      log in (stored token, refresh, or device login) and store the token
  token HOST      print the access token, refreshing when needed (never prompts off a terminal)
  list            list stored logins: host, access valid until, refresh valid until
  remove HOST     forget the stored login of HOST
  clear           forget every stored login

Options:
  --force               login: run a new device login even with a valid token
  --timeout S           login: seconds to wait for approval (default 600)
  --no-browser          login: do not open the browser
  --header              token: print "Authorization: Bearer …"
  --json                print JSON (login, token: the whole token; list: the entries)
  --store PATH          token file (default: OIDC_TOKEN_FILE, else the py-oidc-auth cache file)
  --app-name NAME       cache folder name (default py-oidc-auth)
  --login-route R, --token-route R, --device-route R   server routes (default /auth/v2/…)
  --client-id ID        HOST is an OpenID Provider's issuer; log in as this public client
  --scope "A B"         with --client-id: scopes to ask for (default "openid offline_access")
  -h, --help            this text

The Python client's spellings work too: oidc-auth HOST, --list, --clear, --remove HOST.
Exit codes: 0 success, 1 authentication failure, 2 usage error.`;

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      force: { type: 'boolean' },
      timeout: { type: 'string' },
      'no-browser': { type: 'boolean' },
      header: { type: 'boolean' },
      json: { type: 'boolean' },
      store: { type: 'string' },
      'app-name': { type: 'string' },
      'login-route': { type: 'string', short: 'l' },
      'token-route': { type: 'string', short: 't' },
      'device-route': { type: 'string', short: 'd' },
      'client-id': { type: 'string' },
      scope: { type: 'string' },
      list: { type: 'boolean' },
      clear: { type: 'boolean' },
      remove: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

function storeOf(values: Values, io: Io): FileTokenStore {
  return new FileTokenStore({
    ...(values.store ? { path: values.store } : {}),
    ...(values['app-name'] ? { appName: values['app-name'] } : {}),
    env: io.env,
    onInsecure: (event) => io.stderr.write(`oidc-auth: warning: ${printable(event.message)}\n`),
  });
}

function hostArg(host: string | undefined, command: string, values: Values): string {
  if (!host) {
    throw new UsageError(
      `${command} needs a HOST, e.g. oidc-auth ${command} https://myapp.example.com`,
    );
  }
  // With --client-id, HOST is an OpenID Provider's issuer, whose path matters.
  return values['client-id'] ? normalizeIssuer(host) : normalizeHost(host);
}

function when(seconds: number): string {
  const date = new Date(seconds * 1000);
  return seconds * 1000 <= Date.now() ? `expired (${date.toISOString()})` : date.toISOString();
}

function managerFor(host: string, values: Values, io: Io, prompt: boolean, err: Terminal) {
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0))
    throw new UsageError('--timeout needs a positive number of seconds');
  const server = values['client-id']
    ? {
        issuer: host,
        clientId: values['client-id'],
        ...(values.scope ? { scopes: values.scope.split(/[\s,]+/).filter(Boolean) } : {}),
      }
    : { host };
  return new TokenManager({
    ...server,
    store: storeOf(values, io),
    ...(values['login-route'] ? { loginRoute: values['login-route'] } : {}),
    ...(values['token-route'] ? { tokenRoute: values['token-route'] } : {}),
    ...(values['device-route'] ? { deviceRoute: values['device-route'] } : {}),
    ...(timeout ? { loginTimeout: timeout } : {}),
    ...(prompt
      ? {
          onDeviceCode: (event) =>
            showDeviceCode(event, err, { browser: !values['no-browser'], env: io.env }),
        }
      : { interactive: false }),
  });
}

function printToken(token: Token, values: Values, io: Io): void {
  if (values.json) io.stdout.write(`${JSON.stringify(token, null, 2)}\n`);
  else if (values.header)
    io.stdout.write(`Authorization: ${token.token_type} ${token.access_token}\n`);
  else io.stdout.write(`${token.access_token}\n`);
}

async function run(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  let [command, host] = positionals;
  if (values.list) command = 'list';
  else if (values.clear) command = 'clear';
  else if (values.remove !== undefined) [command, host] = ['remove', values.remove];
  else if (command && /^https?:\/\/|\./.test(command) && !host)
    [command, host] = ['login', command];
  const err = terminal(io.stderr, io.env);

  switch (command) {
    case 'login': {
      const manager = managerFor(hostArg(host, 'login', values), values, io, true, err);
      try {
        const token = await (values.force ? manager.login() : manager.getToken());
        if (values.json) printToken(token, values, io);
        else
          io.stderr.write(
            `Logged in to ${manager.host}; the token is valid until ${when(token.expires)}.\n`,
          );
        return 0;
      } finally {
        manager.close();
      }
    }
    case 'token': {
      const manager = managerFor(
        hostArg(host, 'token', values),
        values,
        io,
        isInteractive(io.env),
        err,
      );
      try {
        printToken(await manager.getToken(), values, io);
        return 0;
      } finally {
        manager.close();
      }
    }
    case 'list': {
      const store = storeOf(values, io);
      const rows = [];
      for (const h of (await store.hosts()).sort()) {
        const entry = await store.get(h);
        if (entry)
          rows.push({
            host: h,
            expires: entry.token.expires,
            refresh_expires: entry.token.refresh_expires,
          });
      }
      if (values.json) {
        io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else if (rows.length === 0) {
        io.stdout.write(`No stored logins in ${store.path}.\n`);
      } else {
        const out = terminal(io.stdout, io.env);
        io.stdout.write(
          `${bold(out, 'HOST')}\t${bold(out, 'ACCESS VALID UNTIL')}\t${bold(out, 'REFRESH VALID UNTIL')}\n`,
        );
        for (const row of rows)
          io.stdout.write(`${row.host}\t${when(row.expires)}\t${when(row.refresh_expires)}\n`);
      }
      return 0;
    }
    case 'remove': {
      const key = hostArg(host, 'remove', values);
      const removed = await storeOf(values, io).remove(key);
      io.stderr.write(removed ? `Removed the login of ${key}.\n` : `No stored login for ${key}.\n`);
      return removed ? 0 : 1;
    }
    case 'clear': {
      await storeOf(values, io).clear();
      io.stderr.write('Removed every stored login.\n');
      return 0;
    }
    case undefined:
      throw new UsageError('a command is needed: login, token, list, remove or clear');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Runs the command line; resolves with the exit code. Errors become one line on stderr. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`oidc-auth: ${error.message}\nRun oidc-auth --help for usage.\n`);
      return 2;
    }
    if (isAuthError(error)) {
      const code = error.code === ErrorCode.INVALID_OPTIONS ? 2 : 1;
      io.stderr.write(`oidc-auth: ${printable(error.message)}\n`);
      return code;
    }
    const wrapped = new AuthError(
      ErrorCode.SERVER_ERROR,
      (error as Error)?.message ?? String(error),
    );
    io.stderr.write(`oidc-auth: ${printable(wrapped.message)}\n`);
    return 1;
  }
}
