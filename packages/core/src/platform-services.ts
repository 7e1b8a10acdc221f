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

/** Where pending redirect logins wait: `sessionStorage` in a browser tab, memory elsewhere. */
export interface PendingLogins {
  put(host: string, login: PendingLogin): void;
  take(host: string): PendingLogin | undefined;
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
  readonly pendingLogins: PendingLogins;
  /** The page's address (`location.href`); undefined outside a page. */
  location(): string | undefined;
  /** Goes to `url` (`location.assign`); nothing outside a page. */
  navigate(url: string): void;
}
