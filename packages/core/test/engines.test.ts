import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../src/index.js';
import { approver, asToken, manager, mock } from './helpers.js';

describe('engines without AbortSignal.any (Safari < 17.4, Firefox < 124, Chrome < 116)', () => {
  it('a refresh, a recovery with a caller signal, and an abort all work', async () => {
    const any = AbortSignal.any;
    // @ts-expect-error: the function is removed as an older engine lacks it
    AbortSignal.any = undefined;
    try {
      const server = await mock();
      const store = new MemoryTokenStore();
      await store.put(server.url, asToken(server.issueToken()));
      const m = manager(server, { store, onDeviceCode: approver(server).onDeviceCode });
      const caller = new AbortController();
      await m.getToken({ signal: caller.signal });
      m.invalidate();
      const token = await m.getToken({ signal: caller.signal });
      expect(server.stats().grants.refresh_token).toBe(1);
      const recovered = await m.recover(token.access_token, { signal: caller.signal });
      expect(recovered.access_token).not.toBe(token.access_token);
      caller.abort(new Error('stop'));
      await expect(m.login({ signal: caller.signal })).rejects.toThrow('stop');
    } finally {
      AbortSignal.any = any;
    }
  });
});
