import { flushAfterTest } from '@oidc-auth/test-support/cleanup';
import { afterEach } from 'vitest';

// Run before every test file, even in a shared module graph: the helpers' cleanups after each test.
afterEach(flushAfterTest);
