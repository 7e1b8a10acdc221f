import type { Environment } from './env.js';
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

/** A redirect login in progress, kept across the page load (see `TokenManager.loginByRedirect`). */
export interface PendingLogin {
  redirectUri: string;
  returnTo: string;
  state?: string;
  codeVerifier?: string;
  nonce?: string;
  /**
   * The DPoP key the code is bound to, as a token stores it: a private JWK on Node, the public
   * JWK and its keyring `kid` in a browser.
   */
  dpopKey?: JsonWebKey;
  startedAt: number;
}

/**
 * One manager's redirect logins in progress, by the key their callback names (the `state` we
 * made, or py-oidc-auth's redirect URI): `sessionStorage` in a browser tab (the same identity
 * after the page load), else the manager's own memory. Never shared by managers of different
 * identities, nor (outside a tab) by two managers at all.
 */
export interface PendingLogins {
  put(key: string, login: PendingLogin): void;
  get(key: string): PendingLogin | undefined;
  remove(key: string): void;
  /** Forgets the logins started before `startedBefore` (ms, the client's clock); returns them. */
  purge(startedBefore: number): PendingLogin[];
}

/** The platform's services, for the manager and the flows (see `PlatformBase` in platform.ts). */
export interface PlatformServices {
  /** The store a manager uses when given none (the token file on Node, memory on the web). */
  defaultStore(env: Environment | undefined): TokenStore;
  /** Whether `store` is the token file `oidc-auth login` writes. */
  sharedFile(store: TokenStore): boolean;
  /** How to log in when a call needs it and nobody can be asked: the end of the message. */
  loginAdvice(command: string, sharedFile: boolean): string;
  /** The default `onDeviceCode`. */
  showDeviceCode(event: DeviceCodeEvent): void | Promise<void>;
  /** The default `onAuthorizationUrl`. */
  openAuthorizationUrl(event: AuthorizationUrlEvent): void | Promise<void>;
  /** A one-shot loopback listener for the browser login's callback. */
  listen(ports: readonly number[]): Promise<LoopbackListener>;
  /** The pending redirect logins of a new manager of the identity `key`. */
  pendingLogins(key: string): PendingLogins;
  /** The page's address (`location.href`); undefined outside a page. */
  location(): string | undefined;
  /** Goes to `url` (`location.assign`); nothing outside a page. */
  navigate(url: string): void;
}
