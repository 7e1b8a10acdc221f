import type { Environment, Stdio } from '../env.js';

/** `node:diagnostics_channel`, as far as core uses it. */
export interface DiagnosticsChannelModule {
  tracingChannel?(name: string): unknown;
  channel?(name: string): unknown;
}

/**
 * Where a browser keeps non-extractable DPoP keys (IndexedDB, else this page's memory), under
 * their thumbprints. A platform without one stores keys as JWKs with the token.
 */
export interface Keyring {
  put(id: string, pair: CryptoKeyPair): Promise<void>;
  get(id: string): Promise<CryptoKeyPair | undefined>;
  remove(id: string): Promise<void>;
}

/**
 * What core needs from the platform it runs on, in two layers so that no import runs back up:
 * `PlatformBase` (primitives: crypto, environment, channels, the keyring), which the lowest
 * modules use, and `PlatformServices` (stores, prompts, the loopback listener, pending logins),
 * which only the manager and the flows use. Two platforms exist: Node's (`node/`: Node, Bun,
 * Deno: the token file, the loopback listener, the terminal) and the web's (`web/`: browsers,
 * workers, workerd: memory and browser stores, redirect login, a keyring of non-extractable
 * keys). Which one a build gets is decided by the `#platform/*` imports' conditions in core's
 * package.json (`browser`, `worker`, `workerd`, `edge-light` → web/, else node/), so a browser
 * bundle never reaches a `node:` module.
 */
export interface PlatformBase {
  /** Environment variables: `process.env` on Node; none on the web. */
  env(): Environment;
  /** Whether stdin and stderr are terminals. */
  terminals(): Stdio;
  /**
   * Why nobody can answer a login prompt on this platform whatever the environment says (a
   * page without `onDeviceCode`); undefined where terminals and variables decide.
   */
  readonly promptless: string | undefined;
  /**
   * What to do instead where there are no environment variables to read the server from (a
   * page, a Worker); undefined where `OIDC_HOST` and the like are read.
   */
  readonly environmentless: string | undefined;
  diagnosticsChannel(): DiagnosticsChannelModule | null;

  /** Where non-extractable DPoP keys live; undefined where keys are stored as JWKs. */
  readonly keyring: Keyring | undefined;
  /**
   * Signs ES256 (IEEE P1363 `r‖s`) at once, where the platform can do better than WebCrypto's
   * asynchronous `sign` (Node: node:crypto, ~3× faster per DPoP proof); undefined elsewhere.
   */
  readonly signEs256: ((key: CryptoKey, data: Uint8Array) => Uint8Array) | undefined;
  /**
   * The PKCS#8 DER of a private key given as a PEM string (or, on Node, a `KeyObject`); throws
   * when it is not one.
   */
  pkcs8(key: unknown): Uint8Array<ArrayBuffer>;
}
