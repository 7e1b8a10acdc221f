import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTokenStore, MemoryTokenStore } from '@oidc-auth/core';
import { storeConformance } from '../src/index.js';

storeConformance('MemoryTokenStore', async () => ({ store: new MemoryTokenStore() }));

storeConformance('FileTokenStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-conformance-'));
  return {
    store: new FileTokenStore({ path: join(dir, 'token-store.json') }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});
