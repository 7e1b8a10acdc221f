import { printable, type StoreCorruptEvent, type Token } from '@oidc-auth/core';
import { arity, type CommandInput, type Io, type Values } from '../args.js';
import { type Check, check, renew } from '../checks.js';
import { isoTime, localTime } from '../format.js';
import { reportCorrupt } from '../output.js';
import { label, placeOf, type Server, serverOf, serverOfKey, storeOf } from '../server.js';
import { runnable } from '../shell-messages.js';

type Row =
  | { server: Server; loggedIn: false }
  | {
      server: Server;
      loggedIn: true;
      token: Token;
      result: Check;
      accessValid: boolean;
      refreshValid: boolean;
      refreshed: boolean;
    };

/** The command that logs in to `server` again. */
function loginCommand({ base, identity }: Server): string {
  const client = identity.clientId === undefined ? '' : ` --client-id ${identity.clientId}`;
  return runnable(printable(`oidc-auth login ${base ?? identity.server}${client}`));
}

/** One stored session: its times, and whether the server accepts its token (refreshed if need be). */
async function rowOf(server: Server, entry: Token, values: Values, io: Io): Promise<Row> {
  const now = Date.now() / 1000;
  let token = entry;
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
  return { server, loggedIn: true, token, result, accessValid, refreshValid, refreshed };
}

/** Failed: refused, ended, or expired and the refresh could not say (and could be tried). */
function failedRow(row: Row): boolean {
  if (!row.loggedIn) return true;
  const { result, accessValid } = row;
  return (
    result.accepted === false ||
    (result.accepted === undefined && !accessValid && !result.unchecked)
  );
}

function printJson(rows: Row[], io: Io): void {
  const json = rows.map((row) =>
    row.loggedIn
      ? {
          host: row.server.key,
          server: row.server.identity.server,
          client_id: row.server.identity.clientId ?? null,
          user: row.result.user ?? null,
          expires: isoTime(row.token.expires),
          refresh_expires: isoTime(row.token.refresh_expires),
          accepted: row.result.accepted ?? null,
          session: row.result.ended ? 'ended' : 'active',
        }
      : { host: row.server.key, loggedIn: false },
  );
  io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
}

function printRow(row: Row, io: Io): void {
  const write = (text: string) => io.stdout.write(`${text}\n`);
  write(label(row.server));
  const again = loginCommand(row.server);
  if (!row.loggedIn) {
    write(`  not logged in: run ${again}`);
    return;
  }
  const { token, result } = row;
  if (result.user) write(`  user:     ${result.user}`);
  if (result.ended) {
    write('  session:  ended (the refresh token was refused or has expired)');
    write(`  next:     run ${again}`);
    return;
  }
  const access = row.refreshed
    ? 'refreshed, valid until'
    : row.accessValid
      ? 'valid until'
      : 'expired';
  write(`  access:   ${access} ${localTime(token.expires)}`);
  write(
    `  refresh:  ${row.refreshValid ? `valid until ${localTime(token.refresh_expires)}` : 'none or expired: log in again when the access token ends'}`,
  );
  const verdict =
    result.accepted === true
      ? 'accepts the token'
      : result.accepted === false
        ? `refuses the token: run ${again}`
        : `not checked (${result.why ?? 'unknown'})`;
  write(`  server:   ${verdict}`);
}

/**
 * `oidc-auth status [HOST]`: for HOST (or the environment's server), else for every stored
 * login: who, until when, and whether the server accepts the token now (an expired one is
 * refreshed first). Exit 1 when any is missing, refused or ended.
 */
export async function status({ rest, values, io }: CommandInput): Promise<number> {
  arity('status', rest, 1);
  const host = rest[0];
  const corrupt: StoreCorruptEvent[] = [];
  const store = storeOf(values, io, corrupt);
  const fromEnv = !host && (io.env.OIDC_HOST || (io.env.OIDC_ISSUER && io.env.OIDC_CLIENT_ID));
  const servers =
    host || fromEnv
      ? [serverOf(host, 'status', values, io.env)]
      : (await store.hosts()).sort().map(serverOfKey);
  const rows: Row[] = [];
  for (const server of servers) {
    const entry = await store.get(server.key);
    rows.push(entry ? await rowOf(server, entry.token, values, io) : { server, loggedIn: false });
  }
  const failed = reportCorrupt(corrupt, io) || rows.length === 0 || rows.some(failedRow);
  if (values.json) printJson(rows, io);
  else {
    if (rows.length === 0 && corrupt.length === 0) {
      io.stdout.write(`No stored logins in ${placeOf(store)}.\n`);
    }
    for (const row of rows) printRow(row, io);
  }
  return failed ? 1 : 0;
}
