import {
  type ConformanceOptions,
  type StoreUnderTest,
  storeConformanceCases,
} from '@oidc-auth/store-conformance';
import { describe, it } from 'vitest';

/**
 * Registers the published `TokenStore` conformance cases (`@oidc-auth/store-conformance`) as
 * one vitest suite.
 *
 * @example
 * storeConformance('my store', async () => ({ store: new MyStore(), close: () => … }));
 */
export function storeConformance(
  name: string,
  make: () => Promise<StoreUnderTest>,
  options: ConformanceOptions = {},
): void {
  describe(`${name}: TokenStore conformance`, () => {
    for (const { name: title, run } of storeConformanceCases(make, options)) it(title, run);
  });
}
