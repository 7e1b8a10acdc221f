import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Options } from 'ky';

// The ky these tests run against: 1.x here, 2.x in the CI matrix (scripts/matrix.sh).
const entry = createRequire(import.meta.url).resolve('ky');
const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));

/** The major version of the installed ky. */
export const kyMajor = Number(String(version).split('.')[0]);

/** A base URL option: ky 2 renamed `prefixUrl` to `prefix`. */
export function prefixed(url: string): Options {
  return (kyMajor >= 2 ? { prefix: url } : { prefixUrl: url }) as Options;
}
