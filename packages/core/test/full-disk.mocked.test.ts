import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, FileTokenStore, parseTokenJson } from '../src/index.js';
import { rejection, tempDir } from './helpers.js';

// A full file system, injected: every write of a temporary token file fails with ENOSPC, as on
// a full disk (the bad-path matrix's other cases run on real paths; mounting a small tmpfs needs
// privileges a CI machine may not grant).
const disk = vi.hoisted(() => ({ full: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (path, flags, mode) => {
    const handle = await real.open(path, flags, mode);
    if (!disk.full || !String(path).endsWith('.tmp')) return handle;
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'writeFile') {
          return async () => {
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
              code: 'ENOSPC',
            });
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...real, open, default: { ...real, open } };
});

describe('a full file system', () => {
  it('a write ends typed at once, naming the file and the fix; the file and the other hosts stay as they were', async () => {
    const dir = await tempDir();
    const path = join(dir, 'token-store.json');
    const now = Date.now() / 1000;
    const kept = parseTokenJson({ access_token: 'keep', refresh_token: 'rt', expires_in: 60 }, now);
    const entry = { 'https://other.example': { token: kept, stored_at: now } };
    const before = `${JSON.stringify(entry, null, 2)}\n`;
    await writeFile(path, before, { mode: 0o600 });
    const store = new FileTokenStore({ path });
    const token = parseTokenJson({ access_token: 'at', expires_in: 60 }, now);
    disk.full = true;
    const error = await rejection(store.put('https://a.example', token));
    disk.full = false;
    expect(error.code).toBe(ErrorCode.STORE_ERROR);
    expect(error.message).toContain(
      `The token file cannot be used: no space left to write ${path}: free space on that disk, or give a token file in a folder you can write`,
    );
    expect(error.message).toMatch(/Nothing was changed\.$/);
    expect(error.detail).toEqual({ path, errno: 'ENOSPC' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['token-store.json']); // no temporary file left
    await store.put('https://a.example', token);
    expect((await store.get('https://other.example'))?.token.access_token).toBe('keep');
  });
});
