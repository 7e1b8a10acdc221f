import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore, MemoryTokenStore } from '@oidc-auth/core';
import { storeConformance } from '../src/index.js';

storeConformance('MemoryTokenStore', async () => ({ store: new MemoryTokenStore() }));

storeConformance(
  'FileTokenStore',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-conformance-'));
    const path = join(dir, 'token-store.json');
    return {
      store: new FileTokenStore({ path }),
      // Another process opening the same file.
      peer: () => new FileTokenStore({ path }),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
  { shared: true },
);
