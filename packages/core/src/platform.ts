import type { Environment } from './env.js';
import type { Stdio } from './interactive.js';
import type { AuthorizationUrlEvent, DeviceCodeEvent } from './options.js';
import type { TokenStore } from './store/store.js';

/** A one-shot HTTP listener on loopback for the authorization-code callback. */
export interface LoopbackListener {
  readonly port: number;
  /** `http://localhost:<port>/callback` */
  readonly redirectUri: string;
  /**
   * Resolves with what `accept` makes of the first callback it accepts. A callback `accept`
   * rejects as not belonging to this login (`OIDC_BAD_RESPONSE`) is answered 400 and ignored:
   * a forged request cannot end the login. Any other error from `accept` ends it.
   */
  wait<T>(
    accept: (params: URLSearchParams) => T,
    options: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<T>;
  close(): void;
}

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
  /**
   * Why nobody can answer a login prompt on this platform whatever the environment says (a
   * page without `onDeviceCode`); undefined where terminals and variables decide.
   */
  readonly promptless: string | undefined;
  /** How to log in when a call needs it and nobody can be asked: the end of the message. */
  loginAdvice(command: string, sharedFile: boolean): string;
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
   * Signs ES256 (IEEE P1363 `r‖s`) at once, where the platform can do better than WebCrypto's
   * asynchronous `sign` (Node: node:crypto, ~3× faster per DPoP proof); undefined elsewhere.
   */
  readonly signEs256: ((key: CryptoKey, data: Uint8Array) => Uint8Array) | undefined;
  /**
   * The PKCS#8 DER of a private key given as a PEM string (or, on Node, a `KeyObject`); throws
   * when it is not one.
   */
  pkcs8(key: unknown): Uint8Array<ArrayBuffer>;
  readonly pendingLogins: PendingLogins;
}
