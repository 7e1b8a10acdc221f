import type { StoredToken, Token, TokenStore } from '@oidc-auth/core';
import { describe, expect, it } from 'vitest';

/**
 * What every `TokenStore` must do, as one suite: run it with a factory for your store. The
 * memory and file stores pass it; a networked store (Redis…) must too.
 *
 * @example
 * storeConformance('my store', async () => ({ store: new MyStore(), close: () => … }));
 */
export function storeConformance(
  name: string,
  make: () => Promise<{ store: TokenStore; close?: () => Promise<void> | void }>,
): void {
  const now = () => Math.floor(Date.now() / 1000);
  const token = (access: string, overrides: Partial<Token> = {}): Token => ({
    access_token: access,
    token_type: 'Bearer',
    expires: now() + 3600,
    refresh_token: `rt_${access}`,
    refresh_expires: now() + 7200,
    scope: 'openid',
    headers: { Authorization: `Bearer ${access}` },
    ...overrides,
  });
  const a = 'https://a.example.org';
  const b = 'https://b.example.org';

  async function withStore(fn: (store: TokenStore) => Promise<void>): Promise<void> {
    const { store, close } = await make();
    try {
      await fn(store);
    } finally {
      await close?.();
    }
  }

  describe(`${name}: TokenStore conformance`, () => {
    it('answers undefined for a host it does not know', () =>
      withStore(async (store) => {
        expect(await store.get(a)).toBeUndefined();
        expect(await store.hosts()).toEqual([]);
      }));

    it('keeps what is put, with the time it was stored, one entry per host', () =>
      withStore(async (store) => {
        const before = Date.now() / 1000;
        await store.put(a, token('one'));
        await store.put(b, token('two'));
        await store.put(a, token('three'));
        const stored = (await store.get(a)) as StoredToken;
        expect(stored.token).toMatchObject({ access_token: 'three', refresh_token: 'rt_three' });
        expect(stored.stored_at).toBeGreaterThanOrEqual(Math.floor(before) - 1);
        expect(stored.stored_at).toBeLessThanOrEqual(Date.now() / 1000 + 1);
        expect((await store.get(b))?.token.access_token).toBe('two');
        expect((await store.hosts()).sort()).toEqual([a, b]);
      }));

    it('hands out copies: changing one does not change the store', () =>
      withStore(async (store) => {
        await store.put(a, token('one'));
        const first = (await store.get(a)) as StoredToken;
        first.token.access_token = 'changed';
        expect((await store.get(a))?.token.access_token).toBe('one');
      }));

    it('removes one host and clears them all', () =>
      withStore(async (store) => {
        await store.put(a, token('one'));
        await store.put(b, token('two'));
        expect(await store.remove(a)).toBe(true);
        expect(await store.remove(a)).toBe(false);
        expect(await store.get(a)).toBeUndefined();
        expect(await store.hosts()).toEqual([b]);
        await store.clear();
        expect(await store.hosts()).toEqual([]);
        expect(await store.get(b)).toBeUndefined();
      }));

    it('inside withLock, reads and writes through the handle, and returns what fn returns', () =>
      withStore(async (store) => {
        await store.put(a, token('one'));
        const result = await store.withLock(a, async (entry) => {
          expect(entry.signal.aborted).toBe(false);
          expect((await entry.get())?.token.access_token).toBe('one');
          await entry.put(token('two'));
          expect((await entry.get())?.token.access_token).toBe('two');
          return 42;
        });
        expect(result).toBe(42);
        expect((await store.get(a))?.token.access_token).toBe('two');
      }));

    it('withLock is exclusive: a second section starts only after the first ends', () =>
      withStore(async (store) => {
        const events: string[] = [];
        let release!: () => void;
        let entered!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const first = store.withLock(a, async () => {
          events.push('first in');
          entered();
          await new Promise<void>((resolve) => (release = resolve));
          events.push('first out');
        });
        await inside;
        const second = store.withLock(a, async () => {
          events.push('second in');
        });
        // Give the second every chance to cut in: one turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
        expect(events).toEqual(['first in']);
        release();
        await Promise.all([first, second]);
        expect(events).toEqual(['first in', 'first out', 'second in']);
      }));

    it('an error inside withLock reaches the caller and releases the lock', () =>
      withStore(async (store) => {
        await expect(
          store.withLock(a, async () => {
            throw new Error('inside');
          }),
        ).rejects.toThrow('inside');
        expect(await store.withLock(a, async () => 'again')).toBe('again');
      }));
  });
}
