import type { TokenStore } from '@oidc-auth/core';
import { type Io, UsageError, type Values } from './args.js';

/**
 * Which store the command line chose: the OS keychain with `--store keyring` (or, without
 * `--store`, `OIDC_TOKEN_STORE=keyring`); else the token file (`--store PATH`, or the default).
 */
function wantsKeyring(values: Values, io: Io): boolean {
  if (values.store !== undefined) return values.store === 'keyring';
  const chosen = io.env.OIDC_TOKEN_STORE?.trim();
  if (chosen === undefined || chosen === '' || chosen === 'file') return false;
  if (chosen === 'keyring') return true;
  throw new UsageError(
    `OIDC_TOKEN_STORE is "${chosen}": it takes "file" (the token file, the default) or "keyring" (the OS keychain)`,
  );
}

/**
 * The keychain store's maker when the command line chose it, loaded from `@oidc-auth/keyring`
 * (an optional peer: the native binding is not installed with the CLI).
 */
export async function keyringOf(values: Values, io: Io): Promise<(() => TokenStore) | undefined> {
  if (!wantsKeyring(values, io)) return undefined;
  if (values['app-name'] !== undefined) {
    throw new UsageError(
      "--app-name names the token file's folder: it does not go with --store keyring",
    );
  }
  const loaded = await import('@oidc-auth/keyring').catch(() => undefined);
  if (!loaded) {
    throw new UsageError(
      '--store keyring needs @oidc-auth/keyring installed beside the CLI (npm install @oidc-auth/keyring); without it, leave --store out: the token file is the default',
    );
  }
  return () => new loaded.KeyringTokenStore({ env: io.env });
}
