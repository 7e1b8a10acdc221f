import { readFile, writeFile } from 'node:fs/promises';
import { setup } from './run.js';

/** An OpenID Provider's issuer with a realm, and the store keys of sessions of it. */
export const issuer = 'https://id.example.org/realms/x';
export const sessionKeys = {
  a: `${issuer}#client_id=app-a&scope=offline_access+openid`,
  aDpop: `${issuer}#client_id=app-a&scope=offline_access+openid&dpop=true`,
  b: `${issuer}#client_id=app-b&scope=offline_access+openid`,
  service: `${issuer}#client_id=svc&grant=client_credentials&scope=api%3Aread`,
  legacy: issuer,
} as const;

/**
 * A token file holding a py-oidc-auth login of `host` and, beside it, logins of several
 * sessions of one issuer (two clients, one with DPoP, a service account, and an entry an
 * earlier version wrote under the plain issuer), valid for an hour.
 */
export async function seedSessions(file: string, host: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const entry = (name: string, fields: object = {}) => ({
    token: {
      access_token: `at-${name}`,
      token_type: 'Bearer',
      expires: now + 3600,
      refresh_token: `rt-${name}`,
      refresh_expires: now + 7200,
      scope: 'openid',
      headers: { Authorization: `Bearer at-${name}` },
      ...fields,
    },
    stored_at: now,
  });
  const raw = {
    [host]: entry('py'),
    [sessionKeys.a]: entry('a', { identity: sessionKeys.a }),
    [sessionKeys.aDpop]: entry('a-dpop', { identity: sessionKeys.aDpop, token_type: 'DPoP' }),
    [sessionKeys.b]: entry('b', { identity: sessionKeys.b }),
    [sessionKeys.service]: entry('service', { identity: sessionKeys.service, refresh_token: '' }),
    [sessionKeys.legacy]: entry('legacy'),
  };
  await writeFile(file, JSON.stringify(raw), { mode: 0o600 });
}

/** A mock server and a token file seeded with {@link seedSessions}. */
export async function setupSessions() {
  const made = await setup();
  await seedSessions(made.file, made.server.url);
  return made;
}

/** The keys of the token file, sorted. */
export async function keysIn(file: string): Promise<string[]> {
  return Object.keys(JSON.parse(await readFile(file, 'utf8'))).sort();
}

/** A command's `--json` answer: one row per entry. */
export function rows(stdout: string): Array<Record<string, unknown>> {
  return JSON.parse(stdout) as Array<Record<string, unknown>>;
}
