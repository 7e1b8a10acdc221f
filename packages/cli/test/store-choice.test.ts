import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inProcess } from './run.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** An environment with no keychain to reach (no D-Bus session), in a home of its own. */
async function noKeychain(): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-store-'));
  dirs.push(home);
  return {
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
  };
}

describe('the store a command uses', () => {
  it('--store keyring where no keychain can be reached: exit 1, and the message names the token file; nothing falls back to it', async () => {
    const env = await noKeychain();
    for (const args of [
      ['list', '--store', 'keyring'],
      ['status', 'https://a.example'],
    ]) {
      const res = await inProcess(
        args,
        args.includes('--store') ? env : { ...env, OIDC_TOKEN_STORE: 'keyring' },
      );
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(/OS keychain cannot be used here/);
      expect(res.stderr).toMatch(
        /FileTokenStore, the default; the CLI's --store file or OIDC_TOKEN_STORE=file/,
      );
    }
  });

  it('OIDC_TOKEN_STORE takes "file" or "keyring"; --store wins over it; --app-name does not go with the keychain', async () => {
    const env = await noKeychain();
    const bad = await inProcess(['list'], { ...env, OIDC_TOKEN_STORE: 'vault' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('OIDC_TOKEN_STORE is "vault": it takes "file"');
    // --store PATH is the token file, whatever the variable says.
    const file = join(env.HOME as string, 'tokens.json');
    const listed = await inProcess(['list', '--store', file], {
      ...env,
      OIDC_TOKEN_STORE: 'keyring',
    });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`No stored logins in ${file}.`);
    const both = await inProcess(['list', '--store', 'keyring', '--app-name', 'x'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--app-name names the token file');
  });
});
