import { normalizeIssuer, parseSessionKey, printable } from '@oidc-auth/core';
import { arity, type CommandInput } from '../args.js';
import { label, serverOf, serverOfKey, storeOf } from '../server.js';

/**
 * The keys `remove` takes away: with a client id, that client's sessions of the issuer (every
 * scope and kind of token); without one, every session of the issuer named (an earlier
 * version's entry under the plain issuer included), else the py-oidc-auth host's entry.
 */
function keysToRemove(keys: string[], given: string, key: string, clientId?: string): string[] {
  if (clientId !== undefined) {
    const { server } = parseSessionKey(key);
    return keys.filter((each) => {
      const identity = parseSessionKey(each);
      return identity.server === server && identity.clientId === clientId;
    });
  }
  let issuer: string | undefined;
  try {
    issuer = normalizeIssuer(given);
  } catch {
    issuer = undefined;
  }
  const sessions = keys.filter((each) => parseSessionKey(each).server === issuer);
  return sessions.length > 0 ? sessions : keys.filter((each) => each === key);
}

/**
 * `oidc-auth remove HOST`: forget stored logins here, without telling the server (the refresh
 * token stays valid there until it expires).
 */
export async function remove({ rest, values, io }: CommandInput): Promise<number> {
  arity('remove', rest, 1);
  const server = serverOf(rest[0], 'remove', values, io.env);
  const store = storeOf(values, io);
  const given = rest[0] ?? server.identity.server;
  const keys = keysToRemove(await store.hosts(), given, server.key, server.identity.clientId);
  let removed = 0;
  for (const key of keys) {
    if (await store.remove(key)) {
      removed++;
      io.stderr.write(`Removed the login of ${label(serverOfKey(key))}.\n`);
    }
  }
  if (removed === 0) {
    const named = server.identity.clientId === undefined ? printable(given) : label(server);
    io.stderr.write(`No stored login for ${named}.\n`);
  }
  return removed > 0 ? 0 : 1;
}
