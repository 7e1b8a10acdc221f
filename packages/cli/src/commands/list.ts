import { printable, type StoreCorruptEvent } from '@oidc-auth/core';
import { arity, type CommandInput } from '../args.js';
import { bold, terminal } from '../display.js';
import { isoTime, localTime } from '../format.js';
import { reportCorrupt } from '../output.js';
import { placeOf, serverOfKey, storeOf } from '../server.js';

/** Who an entry is for, in a few words: `-` for a py-oidc-auth server, else its client. */
function clientColumn(key: string): string {
  const { identity } = serverOfKey(key);
  if (identity.clientId === undefined) return '-';
  const kind = [
    identity.grant === 'client_credentials' ? 'service account' : '',
    identity.dpop ? 'DPoP' : '',
  ].filter(Boolean);
  return `${printable(identity.clientId)}${kind.length > 0 ? ` (${kind.join(', ')})` : ''}`;
}

/** `oidc-auth list`: every stored login — server, client, and how long its tokens last. */
export async function list({ rest, values, io }: CommandInput): Promise<number> {
  arity('list', rest, 0);
  const corrupt: StoreCorruptEvent[] = [];
  const store = storeOf(values, io, corrupt);
  const rows = [];
  for (const key of (await store.hosts()).sort()) {
    const entry = await store.get(key);
    if (entry) {
      rows.push({
        key,
        identity: serverOfKey(key).identity,
        expires: entry.token.expires,
        refresh_expires: entry.token.refresh_expires,
      });
    }
  }
  if (values.json) {
    const json = rows.map(({ key, identity, expires, refresh_expires }) => ({
      host: key,
      server: identity.server,
      client_id: identity.clientId ?? null,
      grant: identity.grant,
      scope: identity.scope ?? null,
      dpop: identity.dpop,
      expires: isoTime(expires),
      refresh_expires: isoTime(refresh_expires),
    }));
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else if (rows.length === 0) {
    if (corrupt.length === 0) io.stdout.write(`No stored logins in ${placeOf(store)}.\n`);
  } else {
    const out = terminal(io.stdout, io.env);
    const head = ['HOST', 'CLIENT', 'ACCESS VALID UNTIL', 'REFRESH VALID UNTIL'];
    io.stdout.write(`${head.map((name) => bold(out, name)).join('\t')}\n`);
    for (const row of rows) {
      io.stdout.write(
        `${printable(row.identity.server)}\t${clientColumn(row.key)}\t${localTime(row.expires)}\t${localTime(row.refresh_expires)}\n`,
      );
    }
  }
  return reportCorrupt(corrupt, io) ? 1 : 0;
}
