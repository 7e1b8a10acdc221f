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
    const { store, token: seeded } = await seededStore(server, { accessExpiredBy: 10 });
    // The locked write blocks until the test lets it finish.
    let writing!: (token: Token) => void;
    const writeStarted = new Promise<Token>((resolve) => (writing = resolve));
    let finishWrite!: () => void;
    const gate = new Promise<void>((resolve) => (finishWrite = resolve));
    let written = false;
    const withLock = store.withLock.bind(store);
    store.withLock = (host, fn) =>
      withLock(host, (entry) =>
        fn({
          ...entry,
          put: async (token) => {
            writing(token);
            await gate;
            await entry.put(token);
            written = true;
          },
        }),
      );
    const m = manager(server, { store });
    const refreshing = m.getToken();
    const rotated = await writeStarted;
    expect(rotated.refresh_token).not.toBe(seeded.refresh_token);
    // Callers arriving while the rotated token is being written: none may get it before it is saved.
    const observed = Array.from({ length: 20 }, () =>
      m.authorization().then((header) => ({ header, written })),
    );
    let returned = false;
    void refreshing.then(() => (returned = true));
    // One macrotask turn drains every microtask: all the manager can do without the write is done.
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(false);
    finishWrite();
    const results = await Promise.all(observed);
    expect((await refreshing).access_token).toBe(rotated.access_token);
    for (const { header, written: savedFirst } of results) {
      expect(header).toBe(`Bearer ${rotated.access_token}`);
      expect(savedFirst).toBe(true);
    }
    expect((await store.get(m.host))?.token.refresh_token).toBe(rotated.refresh_token);
  });

  it('a store that fails to save still hands out the token and reports it', async () => {
    const server = await mock();
    const { store } = await seededStore(server, { accessExpiredBy: 10 });
    const diskFull = async () => {
      throw new Error('disk full');
    };
    store.put = diskFull;
    const withLock = store.withLock.bind(store);
    store.withLock = (host, fn) => withLock(host, (entry) => fn({ ...entry, put: diskFull }));
    const m = manager(server, { store });
    const errors: unknown[] = [];
    m.on('storeError', (e) => errors.push(e));
    expect((await m.getToken()).access_token).toMatch(/^at_/);
    expect(errors).toHaveLength(1);
  });
});
