import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Environment } from '../env.js';

/**
 * The user cache directory of an app, as Python's platformdirs `user_cache_dir(appName)` has it.
 */
export function userCacheDir(
  appName: string,
  env: Environment = process.env,
  platform: string = process.platform,
): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local');
    return join(local, appName, appName, 'Cache');
  }
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', appName);
  // platformdirs takes XDG_CACHE_HOME as it is (a relative one is relative to the working
  // folder) unless it is empty or blank.
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg?.trim() ? resolve(xdg) : join(homedir(), '.cache'), appName);
}

/**
 * A path as a shell (and Python's `os.path.expanduser`) reads it: a leading `~` or `~/` is the
 * home folder (`HOME` from `env`, else the account's), so `~/.cache/x.json` never makes a
 * folder named `~` in the working directory. `~user` forms are left as they are.
 */
export function expandHome(path: string, env: Environment = process.env): string {
  if (path !== '~' && !path.startsWith('~/') && !path.startsWith('~\\')) return resolve(path);
  const home = env.HOME?.trim() ? env.HOME : homedir();
  return resolve(home, path.slice(2));
}

/** The token file used when none is named: `OIDC_TOKEN_FILE`, else the app's cache folder. */
export function defaultTokenFile(appName = 'py-oidc-auth', env: Environment = process.env): string {
  const fromEnv = env.OIDC_TOKEN_FILE;
  if (fromEnv) return expandHome(fromEnv, env);
  return join(userCacheDir(appName, env), 'token-store.json');
}
