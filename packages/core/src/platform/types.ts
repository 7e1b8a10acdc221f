import type { Environment } from '../env.js';
import type { LoopbackListener } from '../flows/loopback.js';
import type { Stdio } from '../interactive.js';
import type { AuthorizationUrlEvent, DeviceCodeEvent } from '../options.js';
import type { TokenStore } from '../store/store.js';

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

/** A redirect login in progress, kept across the page load (see `TokenManager.loginByRedirect`). */
export interface PendingLogin {
  redirectUri: string;
  returnTo: string;
  state?: string;
  codeVerifier?: string;
  nonce?: string;
  /** Thumbprint of the DPoP key the code is bound to. */
  dpopKey?: string;
  /** The private JWK of an extractable key (Node); absent for a keyring key. */
  dpopJwk?: JsonWebKey;
  startedAt: number;
}

/** Where pending redirect logins wait: `sessionStorage` in a browser tab, memory elsewhere. */
export interface PendingLogins {
  put(host: string, login: PendingLogin): void;
  take(host: string): PendingLogin | undefined;
}

/**
 * What core needs from the platform it runs on. Two exist: Node's (Node, Bun, Deno: the token
 * file, the loopback listener, the terminal) and the web's (browsers, workers, workerd: memory
 * and browser stores, redirect login, a keyring for non-extractable keys). Which one a build
 * gets is decided by the `#platform` import's conditions in core's package.json, so a browser
 * bundle never reaches a `node:` module.
 */
export interface Platform {
  readonly name: 'node' | 'web';
  /** Environment variables: `process.env` on Node; none on the web. */
  env(): Environment;
  /** The store a manager uses when given none (the token file on Node, memory on the web). */
  defaultStore(env: Environment | undefined): TokenStore;
  /** Whether `store` is the token file `oidc-auth login` writes. */
  sharedFile(store: TokenStore): boolean;
  /** Whether stdin and stderr are terminals. */
  terminals(): Stdio;
  /** The default `onDeviceCode`. */
  showDeviceCode(event: DeviceCodeEvent): void | Promise<void>;
  /** The default `onAuthorizationUrl`. */
  openAuthorizationUrl(event: AuthorizationUrlEvent): void | Promise<void>;
  /** A one-shot loopback listener for the browser login's callback. */
  listen(ports: readonly number[]): Promise<LoopbackListener>;
  diagnosticsChannel(): DiagnosticsChannelModule | null;
  /** Lets any number of waiters listen on `signal` (Node warns at 10). */
  unlimitedListeners(signal: AbortSignal): void;
  /** Where non-extractable DPoP keys live; undefined where keys are stored as JWKs. */
  readonly keyring: Keyring | undefined;
  /**
   * The PKCS#8 DER of a private key given as a PEM string (or, on Node, a `KeyObject`); throws
   * when it is not one.
   */
  pkcs8(key: unknown): Uint8Array<ArrayBuffer>;
  readonly pendingLogins: PendingLogins;
}
