// The ✓ rows of docs/guides/from-python.md (API, environment, defaults), one test each where a
// row names behaviour; the command-line rows are in packages/cli/test/from-python.test.ts.
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authenticate,
  DeviceFlow,
  defaultTokenFile,
  ErrorCode,
  FileTokenStore,
  isAuthError,
  isInteractive,
  TokenManager,
  type TokenManagerOptions,
} from '../src/index.js';
import { approver, asToken, fastRetry, mock, noWait, rejection, tempDir } from './helpers.js';

describe('from py-oidc-auth-client: the API', () => {
  it('authenticate({ host, loginRoute, tokenRoute, deviceRoute, redirectPorts, store, force, loginTimeout })', async () => {
    const server = await mock({ autoApprove: 0 });
    const path = join(await tempDir(), 'tokens.json');
    const { onDeviceCode } = approver(server);
    const options = {
      host: server.url,
      loginRoute: '/auth/v2/login',
      tokenRoute: '/auth/v2/token',
      deviceRoute: '/auth/v2/device',
      redirectPorts: [53100, 53101],
      store: new FileTokenStore(path),
      loginTimeout: 120,
      onDeviceCode,
      sleep: noWait,
    };
    const first = await authenticate(options);
    const again = await authenticate(options);
    expect(again.access_token).toBe(first.access_token);
    const forced = await authenticate({ ...options, force: true });
    expect(forced.access_token).not.toBe(first.access_token);
    expect(server.stats().grants.device_code).toBe(2);
  });

  it('timeout=, app_name=, redirect_ports= are refused, naming ours', async () => {
    for (const [name, ours] of [
      ['timeout', 'loginTimeout'],
      ['app_name', 'appName'],
      ['redirect_ports', 'redirectPorts'],
    ]) {
      const error = await rejection(
        authenticate({ host: 'https://x.example', [name as string]: 1 } as TokenManagerOptions),
      );
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toContain(ours);
    }
  });

  it('TokenStore("~/…") and app_name are FileTokenStore("~/…") and { appName }', () => {
    expect(new FileTokenStore('~/.config/myapp/tokens.json').path).toBe(
      join(homedir(), '.config/myapp/tokens.json'),
    );
    const env = { XDG_CACHE_HOME: '/xdg' };
    expect(new FileTokenStore({ appName: 'my-project', env }).path).toBe(
      defaultTokenFile('my-project', env),
    );
    expect(defaultTokenFile('my-project', env)).toBe('/xdg/my-project/token-store.json');
  });

  it('DeviceFlow: getDeviceCode(), poll(device_code, interval) stores, authenticate({ force })', async () => {
    const server = await mock();
    const store = new FileTokenStore(join(await tempDir(), 'tokens.json'));
    const flow = new DeviceFlow({ host: server.url, store, sleep: noWait });
    const code = await flow.getDeviceCode();
    expect(Object.keys(code)).toEqual(
      expect.arrayContaining(['uri', 'user_code', 'device_code', 'interval']),
    );
    server.approve(code.user_code);
    const token = await flow.poll(code.device_code, code.interval);
    // flow.token in Python: the stored entry's token.
    expect((await store.get(server.url))?.token).toEqual(token);
    expect(Object.keys(token)).toEqual(
      expect.arrayContaining([
        'access_token',
        'token_type',
        'expires',
        'refresh_token',
        'refresh_expires',
        'scope',
        'headers',
      ]),
    );
    expect(token.headers.Authorization).toBe(`Bearer ${token.access_token}`);
    expect((await flow.authenticate()).access_token).toBe(token.access_token);
  });

  it('FileTokenStore: get, put, remove, hosts, clear; a path in the key is dropped as Python drops it', async () => {
    const server = await mock();
    const store = new FileTokenStore(join(await tempDir(), 'tokens.json'));
    const token = asToken(server.issueToken());
    await store.put(`${server.url}/api/v1/`, token);
    expect(await store.hosts()).toEqual([server.url]);
    expect((await store.get(server.url))?.token.access_token).toBe(token.access_token);
    expect(await store.remove(`${server.url}/`)).toBe(true);
    await store.put(server.url, token);
    await store.clear();
    expect(await store.hosts()).toEqual([]);
  });

  it('AuthError: status (not status_code; undefined without an HTTP status), detail, and a code to branch on', async () => {
    const server = await mock({ deviceRoute: 'not-mounted' });
    const error = await rejection(
      new DeviceFlow({ host: server.url, retry: fastRetry }).getDeviceCode(),
    );
    expect(isAuthError(error)).toBe(true);
    expect(error.status).toBe(404);
    expect(error.code).toBe(ErrorCode.DEVICE_FLOW_UNSUPPORTED);
    const offline = await rejection(
      new TokenManager({
        host: server.url,
        store: new FileTokenStore(join(await tempDir(), 'tokens.json')),
        interactive: false,
      }).getToken(),
    );
    expect(offline.code).toBe(ErrorCode.LOGIN_REQUIRED);
    expect(offline.status).toBeUndefined();
    expect(offline.detail).toMatchObject({ command: `oidc-auth login ${server.url}` });
  });
});

describe('from py-oidc-auth-client: environment and defaults', () => {
  it('OIDC_TOKEN_FILE is read (Python documents it and does not); XDG_CACHE_HOME as platformdirs has it', () => {
    expect(
      defaultTokenFile('py-oidc-auth', { OIDC_TOKEN_FILE: '~/t.json', HOME: '/home/me' }),
    ).toBe('/home/me/t.json');
    expect(defaultTokenFile('py-oidc-auth', { XDG_CACHE_HOME: '/xdg' })).toBe(
      '/xdg/py-oidc-auth/token-store.json',
    );
  });

  it('INTERACTIVE_SESSION takes the same values; batch variables count when not empty', () => {
    const tty = { stdin: { isTTY: true }, stderr: { isTTY: true } };
    expect(isInteractive({ INTERACTIVE_SESSION: '0' }, tty)).toBe(false);
    expect(isInteractive({ INTERACTIVE_SESSION: '1' }, {})).toBe(true);
    expect(isInteractive({ FREVA_BATCH_JOB: '1', INTERACTIVE_SESSION: '1' }, tty)).toBe(false);
    expect(isInteractive({ SLURM_JOB_ID: '' }, tty)).toBe(true);
  });

  it('a login waits 600 s here (30 s in Python’s authenticate)', async () => {
    const server = await mock();
    const seen: Date[] = [];
    const manager = new TokenManager({
      host: server.url,
      store: new FileTokenStore(join(await tempDir(), 'tokens.json')),
      sleep: noWait,
      onDeviceCode: (event) => {
        seen.push(event.expiresAt);
        server.approve(event.userCode);
      },
    });
    const before = Date.now();
    await manager.getToken();
    manager.close();
    // The wait is the server's code lifetime (the mock's: 600 s) capped by loginTimeout (600 s).
    expect((seen[0]?.getTime() ?? 0) - before).toBeGreaterThan(590_000);
  });

  it('an entry without expires is refreshed, as Python does', async () => {
    const server = await mock();
    const path = join(await tempDir(), 'tokens.json');
    const { expires: _none, ...python } = asToken(server.issueToken());
    await writeFile(path, JSON.stringify({ [server.url]: { token: python, stored_at: 1 } }));
    const manager = new TokenManager({
      host: server.url,
      store: new FileTokenStore(path),
      interactive: false,
    });
    expect((await manager.getToken()).access_token).not.toBe(python.access_token);
    manager.close();
  });
});
