import { afterEach } from 'vitest';
import { flushAfterTest } from './packages/contract/src/cleanup.js';

// Run before every test file, even in a shared module graph: the helpers' cleanups after each test.
afterEach(flushAfterTest);
