import { describe, expect, it } from 'vitest';
import { MemoryTokenStore, type Token } from '../src/index.js';
import { approver, manager, mock, seededStore } from './helpers.js';

describe('single-flight', () => {
  it('1,000 concurrent getToken() calls needing a refresh make one token-endpoint call', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, { store });
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => m.getToken()));
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(1);
  });

  it('1,000 concurrent recover() calls with the failed token make one refresh', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server);
    const m = manager(server, { store });
    await m.getToken();
    server.revokeAll({ keepRefresh: true });
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, () => m.recover(token.access_token)),
    );
    expect(server.stats().grants.refresh_token).toBe(1);
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(1);
    expect(tokens[0]?.access_token).not.toBe(token.access_token);
  });

  it('recover() with a token that is no longer current returns the current one, no call', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server);
    const m = manager(server, { store });
    const fresh = await m.recover(token.access_token);
    expect(server.stats().grants.refresh_token).toBe(1);
    const late = await m.recover(token.access_token);
    expect(late.access_token).toBe(fresh.access_token);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('mixed getToken() and recover() callers share one refresh', async () => {
    const server = await mock();
    const { store, token } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, { store });
    await Promise.all([
      ...Array.from({ length: 50 }, () => m.getToken()),
      ...Array.from({ length: 50 }, () => m.recover(token.access_token)),
    ]);
    expect(server.stats().grants.refresh_token).toBe(1);
  });

  it('concurrent callers needing a login share one device flow and one prompt', async () => {
    const server = await mock();
    const { prompts, onDeviceCode } = approver(server);
    const m = manager(server, { onDeviceCode, store: new MemoryTokenStore() });
    const tokens: Token[] = await Promise.all(Array.from({ length: 100 }, () => m.getToken()));
    expect(prompts).toHaveLength(1);
    expect(server.stats().device.issued).toBe(1);
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(1);
  });
});

describe('rotation', () => {
  it('persists the new refresh token before any waiter gets the new access token', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const m = manager(server, { store });
    const seen = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const token = await m.getToken();
        // At the moment each waiter resumes, the store already holds the rotated token.
        return (await store.get(m.host))?.token.refresh_token === token.refresh_token;
      }),
    );
    expect(seen.every(Boolean)).toBe(true);
  });

  it('a store that fails to save still hands out the token and reports it', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    store.put = async () => {
      throw new Error('disk full');
    };
    const m = manager(server, { store });
    const errors: unknown[] = [];
    m.on('storeError', (e) => errors.push(e));
    expect((await m.getToken()).access_token).toMatch(/^at_/);
    expect(errors).toHaveLength(1);
  });
});
