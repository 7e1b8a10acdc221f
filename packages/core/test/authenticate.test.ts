import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authenticate,
  batchJobVariables,
  DeviceFlow,
  FileTokenStore,
  isInteractive,
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

describe('isInteractive()', () => {
  const tty = { stdin: { isTTY: true }, stdout: { isTTY: true } };

  it('needs both stdin and stdout to be terminals', () => {
    expect(isInteractive({}, tty)).toBe(true);
    expect(isInteractive({}, { stdin: { isTTY: true }, stdout: {} })).toBe(false);
    expect(isInteractive({}, { stdin: {}, stdout: { isTTY: true } })).toBe(false);
  });

  it.each(batchJobVariables)('is false when %s is set', (name) => {
    expect(isInteractive({ [name]: '1' }, tty)).toBe(false);
  });

  it('lists the batch-job variables of PROTOCOL.md §3', () => {
    expect(batchJobVariables).toHaveLength(18);
  });
});
