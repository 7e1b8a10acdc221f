import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientId, startProvider } from '@oidc-auth/contract';
import { afterEach, expect, it } from 'vitest';
import { oidcAuth } from './run.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

it('logs in to an OpenID Provider with --client-id and stores the token under the issuer', async () => {
  const op = await startProvider();
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-cli-oidc-'));
  cleanups.push(
    () => op.close(),
    () => rm(dir, { recursive: true, force: true }),
  );
  const file = join(dir, 'tokens.json');
  const login = oidcAuth(['login', `${op.issuer}/`, '--client-id', clientId, '--json'], {
    OIDC_TOKEN_FILE: file,
  });
  await expect.poll(() => op.pendingUserCodes().length, { timeout: 15_000 }).toBe(1);
  await op.decide(op.pendingUserCodes()[0] ?? '', 'approve');
  const res = await login;
  expect(res.code).toBe(0);
  const token = JSON.parse(res.stdout);
  const stored = JSON.parse(await readFile(file, 'utf8'));
  expect(stored[op.issuer].token.access_token).toBe(token.access_token);
});
