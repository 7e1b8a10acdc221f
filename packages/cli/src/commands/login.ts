import { isInteractive, printable } from '@oidc-auth/core';
import { arity, type CommandInput, UsageError } from '../args.js';
import { userOf, verified } from '../checks.js';
import { terminal } from '../display.js';
import { localTime } from '../format.js';
import { printToken } from '../output.js';
import { label, managerFor, serverOf } from '../server.js';

/**
 * `oidc-auth login HOST` and `oidc-auth token HOST`: a token the server accepts (stored,
 * refreshed, or a new login), checked against the server; `login` says who logged in, `token`
 * prints the token. `token` never prompts off a terminal.
 */
export async function loginOrToken(
  command: 'login' | 'token',
  { rest, values, io }: CommandInput,
): Promise<number> {
  arity(command, rest, 1);
  const server = serverOf(rest[0], command, values, io.env);
  const prompt = command === 'login' || isInteractive(io.env);
  const manager = managerFor(server, values, io, prompt, terminal(io.stderr, io.env));
  try {
    const first = await (values.force && command === 'login'
      ? manager.login()
      : manager.getToken());
    const { token, result } = await verified(manager, server, first);
    if (command === 'token' && !values.json && manager.dpop) {
      throw new UsageError(
        `the token of ${label(server)} is DPoP-bound: every request needs its own proof, so a printed header would be refused. Use it through the library (authHeaders or an adapter), or print it with --json`,
      );
    }
    if (command === 'token' || values.json) printToken(token, values, io);
    else {
      const user = result.user ?? (await userOf(manager));
      const who = user ? ` as ${user}` : '';
      const client = server.identity.clientId;
      const as = client === undefined ? '' : ` (client ${printable(client)})`;
      io.stderr.write(
        `Logged in to ${printable(server.identity.server)}${who}${as}; the token is valid until ${localTime(token.expires)}.\n`,
      );
      if (result.accepted && result.why) io.stderr.write(`Note: ${result.why}.\n`);
    }
    return 0;
  } finally {
    manager.close();
  }
}

/** `oidc-auth login HOST`: log in (or use the stored login) and store the token. */
export const login = (input: CommandInput): Promise<number> => loginOrToken('login', input);
