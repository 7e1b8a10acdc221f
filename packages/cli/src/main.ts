import { ErrorCode, isAuthError, printable } from '@oidc-auth/core';
import {
  type CommandInput,
  type Io,
  parse,
  portsOf,
  timeoutOf,
  UsageError,
  usage,
  version,
} from './args.js';
import { clear } from './commands/clear.js';
import { list } from './commands/list.js';
import { login } from './commands/login.js';
import { logout } from './commands/logout.js';
import { remove } from './commands/remove.js';
import { status } from './commands/status.js';
import { token } from './commands/token.js';
import { keyringOf } from './keyring.js';
import { forShell } from './shell-messages.js';

export { type Io, usage } from './args.js';

/** The commands, one module each (`commands/<name>.ts`). */
const commands: Record<string, (input: CommandInput) => Promise<number>> = {
  login,
  token,
  status,
  list,
  logout,
  remove,
  clear,
};

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
  // The Python client's spellings: --list, --clear, --remove HOST, and `oidc-auth HOST`.
  if (values.list) command = 'list';
  else if (values.clear) command = 'clear';
  else if (values.remove !== undefined) [command, rest] = ['remove', [values.remove, ...rest]];
  else if (command && /^https?:\/\/|\./.test(command))
    [command, rest] = ['login', [command, ...rest]];
  if (command === undefined) {
    throw new UsageError(
      'a command is needed: login, token, status, list, logout, remove or clear',
    );
  }
  const handler = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!handler) throw new UsageError(`unknown command "${command}"`);
  const keyring = await keyringOf(values, io);
  return handler({ rest, values, io: keyring ? { ...io, keyring } : io });
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
