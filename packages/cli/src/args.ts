import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Environment, TokenStore } from '@oidc-auth/core';
import type { Output } from './display.js';

export const usage = `Usage: oidc-auth <command> [HOST] [options]

Commands:
  login HOST      log in (stored token, refresh, or device login) and store the token
  token HOST      print the access token, refreshing when needed (never prompts off a terminal)
  status [HOST]   which logins exist, for whom, until when, and whether the server accepts them
  list            list stored logins: host, client, access and refresh valid until
  logout HOST     revoke the session's tokens at the server where it can, and forget them here
  remove HOST     forget the stored logins of HOST here only (the server is not told; with
                  --client-id: that client's only)
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
  --store keyring       the OS keychain instead (needs @oidc-auth/keyring installed; or set
                        OIDC_TOKEN_STORE=keyring); the token file stays the default
  --app-name NAME       cache folder name (default py-oidc-auth)
  --login-route R, --token-route R, --device-route R   server routes (default /auth/v2/…)
  --client-id ID        HOST is an OpenID Provider's issuer; log in as this public client
                        (each client's login is stored apart, as are other --scope and --dpop)
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
  /** Set by `main` for `--store keyring` (or `OIDC_TOKEN_STORE=keyring`): the keychain store. */
  keyring?: () => TokenStore;
}

/** A mistake in the command line: one line naming it, exit code 2. */
export class UsageError extends Error {}

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

/**
 * Python's `-p 53100 53101` (argparse `nargs`): the port numbers after `-p`/`--ports` are taken
 * as its values, as Python takes them. A port is never a host (a host is a URL or a name), so
 * nothing else is taken from the positionals.
 */
function pythonPorts(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    out.push(arg);
    const takesPorts = arg === '-p' || arg === '--ports';
    const inline = /^(?:-p|--ports)=/.test(arg) || /^-p\d/.test(arg);
    if (!takesPorts && !inline) continue;
    if (takesPorts && i + 1 < argv.length) out.push(argv[++i] as string);
    while (i + 1 < argv.length && /^\d+$/.test(argv[i + 1] as string)) {
      out.push('-p', argv[++i] as string);
    }
  }
  return out;
}

/** Node's parseArgs messages, in our words and on one line. */
export function parse(argv: string[]) {
  try {
    return parseArgs({
      args: pythonPorts(argv),
      allowPositionals: true,
      strict: true,
      options,
    });
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

/** The parsed options. */
export type Values = ReturnType<typeof parse>['values'];

/** What every command is given: its arguments after the command name, the options, the world. */
export interface CommandInput {
  rest: string[];
  values: Values;
  io: Io;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

export function timeoutOf(values: Values): number | undefined {
  if (values.timeout === undefined) return undefined;
  const timeout = Number(values.timeout);
  if (!(timeout > 0) || !Number.isFinite(timeout)) {
    throw new UsageError(`--timeout needs a positive number of seconds, got ${values.timeout}`);
  }
  return timeout;
}

/** `-p 53100,53101 -p 53102`, or Python's `-p 53100 53101`: the browser login's ports, in order. */
export function portsOf(values: Values): number[] | undefined {
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
export function insecureHttp(values: Values, env: Environment): boolean {
  const flag = env.OIDC_ALLOW_INSECURE_HTTP?.trim().toLowerCase();
  return values['allow-insecure-http'] === true || ['1', 'true', 'yes'].includes(flag ?? '');
}

/** At most `count` positional arguments after the command. */
export function arity(command: string, rest: string[], count: number): void {
  if (rest.length > count) {
    const what = count === 0 ? 'no arguments' : 'one HOST';
    // The Python CLI's `-p 53100 53101`: the second port arrives here.
    const ports = rest.slice(count).every((arg) => /^\d+$/.test(arg))
      ? '; give several ports as -p 53100,53101 (or -p 53100 -p 53101)'
      : '';
    throw new UsageError(`${command} takes ${what}, got: ${rest.join(' ')}${ports}`);
  }
}
