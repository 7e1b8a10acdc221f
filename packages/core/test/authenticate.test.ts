import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authenticate,
  batchJobVariables,
  DeviceFlow,
  ErrorCode,
  FileTokenStore,
  isInteractive,
  loginSituation,
} from '../src/index.js';
import { approver, mock, noWait, tempDir } from './helpers.js';

describe('authenticate()', () => {
  it('logs in once, stores the token, and reuses it with no network call', async () => {
    const server = await mock();
    const path = join(await tempDir(), 'token-store.json');
    const { onDeviceCode, prompts } = approver(server);
    const token = await authenticate({
      host: server.url,
      store: new FileTokenStore({ path }),
      onDeviceCode,
      sleep: noWait,
    });
    // The seed's second example: token.headers used with fetch.
    const res = await fetch(`${server.url}/api/data`, { headers: token.headers });
    expect(res.status).toBe(200);

    const again = await authenticate({
      host: server.url,
      store: new FileTokenStore({ path }),
      onDeviceCode,
      sleep: noWait,
    });
    expect(again).toEqual(token);
    expect(prompts).toHaveLength(1);
    expect(server.stats().device.issued).toBe(1);
  });

  it('force runs a new login', async () => {
    const server = await mock();
    const path = join(await tempDir(), 'token-store.json');
    const { onDeviceCode, prompts } = approver(server);
    const first = await authenticate({
      host: server.url,
      store: new FileTokenStore({ path }),
      onDeviceCode,
      sleep: noWait,
    });
    const second = await authenticate({
      host: server.url,
      store: new FileTokenStore({ path }),
      onDeviceCode,
      sleep: noWait,
      force: true,
    });
    expect(second.access_token).not.toBe(first.access_token);
    expect(prompts).toHaveLength(2);
  });

  it('DeviceFlow.authenticate() goes through the same strategy', async () => {
    const server = await mock();
    const path = join(await tempDir(), 'token-store.json');
    const { onDeviceCode } = approver(server);
    const flow = new DeviceFlow({
      host: server.url,
      onDeviceCode,
      sleep: noWait,
      store: new FileTokenStore({ path }),
    });
    const token = await flow.authenticate();
    expect(await new FileTokenStore({ path }).get(server.url)).toMatchObject({ token });
  });
});

describe('isInteractive() and loginSituation()', () => {
  const tty = { stdin: { isTTY: true }, stderr: { isTTY: true } };
  const none = { stdin: {}, stderr: {} };

  it('needs stdin or stderr to be a terminal: piped output (node app.js | tee log) can still log in', () => {
    expect(isInteractive({}, tty)).toBe(true);
    expect(isInteractive({}, { stdin: { isTTY: true }, stderr: {} })).toBe(true);
    expect(isInteractive({}, { stdin: {}, stderr: { isTTY: true } })).toBe(true);
    expect(loginSituation({}, none)).toEqual({
      interactive: false,
      reason: 'no terminal is attached',
    });
  });

  it.each(batchJobVariables)('is false when %s is set, even with INTERACTIVE_SESSION=1', (name) => {
    expect(isInteractive({ [name]: '1' }, tty)).toBe(false);
    expect(loginSituation({ [name]: 'x', INTERACTIVE_SESSION: '1' }, tty)).toEqual({
      interactive: false,
      reason: `this is a batch job (${name} is set)`,
    });
  });

  it.each(batchJobVariables)('does not count %s set to the empty string', (name) => {
    expect(isInteractive({ [name]: '' }, tty)).toBe(true);
  });

  it('honours INTERACTIVE_SESSION as py-oidc-auth-client reads it: an integer, 0 for no', () => {
    for (const yes of ['1', '2', ' 1 ', 'true', 'YES', 'on']) {
      expect(isInteractive({ INTERACTIVE_SESSION: yes }, none), yes).toBe(true);
    }
    for (const no of ['0', '00', 'false', 'No', 'off']) {
      expect(loginSituation({ INTERACTIVE_SESSION: no }, tty), no).toEqual({
        interactive: false,
        reason: 'INTERACTIVE_SESSION=0 is set',
      });
    }
    expect(isInteractive({ INTERACTIVE_SESSION: '' }, tty)).toBe(true);
    expect(isInteractive({ INTERACTIVE_SESSION: '' }, none)).toBe(false);
  });

  it('refuses an INTERACTIVE_SESSION it cannot read, naming the values it takes', () => {
    expect(() => isInteractive({ INTERACTIVE_SESSION: 'maybe' }, tty)).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_OPTIONS,
        message: expect.stringContaining('set it to 1'),
      }),
    );
  });

  it('lists the batch-job variables of py-oidc-auth-client, FREVA_BATCH_JOB included', () => {
    expect(batchJobVariables).toHaveLength(19);
    expect(batchJobVariables).toContain('FREVA_BATCH_JOB');
  });
});
