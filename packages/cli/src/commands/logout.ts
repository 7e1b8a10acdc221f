import { isAuthError, type Revocation } from '@oidc-auth/core';
import { arity, type CommandInput } from '../args.js';
import { terminal } from '../display.js';
import { label, managerFor, serverOf } from '../server.js';

/** What the server did, in words. */
const said: Record<Revocation, string> = {
  revoked: 'the server revoked its tokens',
  none: 'there were no tokens to revoke',
  'not-supported':
    'the server cannot revoke tokens (a py-oidc-auth server, or a provider without a revocation endpoint): they stay valid there until they expire',
  failed: 'the server could not revoke its tokens',
  skipped: 'the server was not asked',
};

/**
 * `oidc-auth logout HOST`: revoke the session's tokens at the server where it can (RFC 7009),
 * then forget the stored login. `remove` only forgets it here.
 */
export async function logout({ rest, values, io }: CommandInput): Promise<number> {
  arity('logout', rest, 1);
  const server = serverOf(rest[0], 'logout', values, io.env);
  const manager = managerFor(server, values, io, false, terminal(io.stderr, io.env));
  try {
    const result = await manager.logout();
    const where = label(server);
    const done = result.removed ? `Logged out of ${where}` : `No stored login for ${where}`;
    io.stderr.write(`${done}; ${said[result.revocation]}.\n`);
    if (result.error) io.stderr.write(`  ${result.error.message}\n`);
    return result.revocation === 'failed' || !result.removed ? 1 : 0;
  } catch (error) {
    if (!isAuthError(error)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    manager.close();
  }
}
