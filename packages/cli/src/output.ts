import type { StoreCorruptEvent, Token } from '@oidc-auth/core';
import type { Io, Values } from './args.js';
import { isoTime } from './format.js';

/** A token as `login --json` and `token` print it: never its DPoP key, the refresh token on request. */
export function printToken(token: Token, values: Values, io: Io): void {
  if (values.json) {
    // The refresh token is the long-lived secret: shown only when asked for. A DPoP key
    // never: it is what makes a stolen token useless.
    const { dpop_key: _key, identity: _identity, ...unkeyed } = token;
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

/** Reports a token file that could not be read and was moved aside; true when there was one. */
export function reportCorrupt(corrupt: StoreCorruptEvent[], io: Io): boolean {
  for (const event of corrupt) {
    io.stderr.write(
      `oidc-auth: the token file ${event.path} could not be read (${event.reason}); it was moved aside to ${event.movedTo}, nothing was deleted.\n`,
    );
  }
  return corrupt.length > 0;
}
