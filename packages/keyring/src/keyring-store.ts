import { join } from 'node:path';
import {
  AuthError,
  type Environment,
  ErrorCode,
  FileTokenStore,
  type LockedEntry,
  parseStoredToken,
  type StoredToken,
  type StoreEvent,
  storedEntry,
  type Token,
  type TokenStore,
  userCacheDir,
} from '@oidc-auth/core';
import { ChangeNotices } from './notices.js';

/** Options of {@link KeyringTokenStore}. */
export interface KeyringTokenStoreOptions {
  /**
   * The service name the entries are kept under (one entry per session, its store key the
   * account name). Programs that share logins use the same one.
   * @default 'oidc-auth'
   */
  service?: string;
  /**
   * The file whose lock serialises refreshes across processes (the keychain has no lock of its
   * own), and beside which change notices are written. Nothing secret is ever written there.
   * @default `<user cache>/oidc-auth/keyring-lock.json`
   */
  lockPath?: string;
  /** Where `HOME`, `XDG_CACHE_HOME`, `LOCALAPPDATA` are read for the default lock path. */
  env?: Environment;
  /** @default Date.now — milliseconds, for `stored_at` */
  clock?: () => number;
}

/** What the keychain says when it cannot be used, for the error's message. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function unavailable(service: string, error: unknown): AuthError {
  const reason = reasonOf(error);
  return new AuthError(
    ErrorCode.STORE_ERROR,
    `The OS keychain cannot be used here (${reason}). On a server or batch node without a desktop session keep tokens in the token file instead (FileTokenStore, the default; the CLI's --store file or OIDC_TOKEN_STORE=file). On Linux the keychain is the Secret Service (GNOME Keyring, KWallet): it needs a D-Bus session and an unlocked collection.`,
    { detail: { store: 'keyring', service, reason }, cause: error },
  );
}

/**
 * Tokens in the operating system's credential store — the macOS Keychain, the Windows Credential
 * Manager, the Secret Service on Linux — as `gh` keeps its own, through `@napi-rs/keyring`. One
 * entry per session (service {@link KeyringTokenStoreOptions.service}, account the store key),
 * holding the token and the time it was stored as JSON.
 *
 * The keychain has no lock: `withLock` takes the lock of a small file of its own
 * ({@link KeyringTokenStoreOptions.lockPath}, the file store's lock, with its lease and its
 * loss detection), so that processes sharing the keychain refresh one at a time; and each
 * write leaves a notice beside it (the session's key, never a token), which the other processes
 * hear. Where no keychain can be used (no desktop session, no D-Bus, a locked collection) every
 * call fails with `OIDC_STORE_ERROR` naming the token file — never a silent fallback. On Linux
 * only the Secret Service is used, never the kernel keyring (whose entries do not outlive a
 * reboot).
 */
export class KeyringTokenStore implements TokenStore {
  readonly service: string;
  readonly #lock: FileTokenStore;
  readonly #notices: ChangeNotices;
  readonly #clock: () => number;
  /** The native binding, loaded on first use: where it has no binary, a typed error then. */
  #binding: Promise<typeof import('@napi-rs/keyring')> | undefined;

  constructor(options: KeyringTokenStoreOptions = {}) {
    this.service = options.service ?? 'oidc-auth';
    if (typeof this.service !== 'string' || this.service === '') {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'service must be a non-empty string.');
    }
    const lockPath =
      options.lockPath ?? join(userCacheDir('oidc-auth', options.env), 'keyring-lock.json');
    this.#lock = new FileTokenStore({
      path: lockPath,
      ...(options.env ? { env: options.env } : {}),
    });
    this.#notices = new ChangeNotices(`${lockPath}.changes`);
    this.#clock = options.clock ?? Date.now;
  }

  /** Runs `use` with the binding; whatever the keychain refuses becomes the typed error. */
  async #call<T>(use: (binding: typeof import('@napi-rs/keyring')) => Promise<T>): Promise<T> {
    try {
      this.#binding ??= import('@napi-rs/keyring');
      return await use(await this.#binding);
    } catch (error) {
      throw error instanceof AuthError ? error : unavailable(this.service, error);
    }
  }

  #entry(binding: typeof import('@napi-rs/keyring'), host: string) {
    // Linux: the Secret Service only, never the kernel keyring the binding would fall back to.
    return new binding.AsyncEntry(this.service, host, { linux: { store: 'secret-service' } });
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const text = await this.#call((b) => this.#entry(b, host).getPassword());
    if (text === null || text === undefined) return undefined;
    let raw: { token?: unknown; stored_at?: unknown };
    try {
      raw = JSON.parse(text);
    } catch {
      return undefined; // Not ours, or damaged: read as absent, left as it is (a put replaces it).
    }
    const token = parseStoredToken(raw?.token);
    return token ? storedEntry(token, raw.stored_at, this.#clock() / 1000) : undefined;
  }

  async put(host: string, token: Token): Promise<void> {
    const text = JSON.stringify({ token, stored_at: this.#clock() / 1000 });
    await this.#call((b) => this.#entry(b, host).setPassword(text));
    await this.#notices.write(host);
  }

  async remove(host: string): Promise<boolean> {
    const removed = await this.#call((b) => this.#entry(b, host).deleteCredential());
    if (removed) await this.#notices.write(host);
    return removed;
  }

  async hosts(): Promise<string[]> {
    const found = await this.#call((b) => b.findCredentialsAsync(this.service));
    return found.map((credential) => credential.account).sort();
  }

  async clear(): Promise<void> {
    for (const host of await this.hosts()) await this.remove(host);
  }

  async withLock<T>(
    host: string,
    fn: (entry: LockedEntry) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.#lock.withLock(
      host,
      (locked) =>
        fn({
          signal: locked.signal,
          get: () => this.get(host),
          put: async (token) => {
            // A lock lost (this process paused past its lease) writes nothing.
            if (locked.signal.aborted) throw locked.signal.reason;
            await this.put(host, token);
          },
        }),
      options,
    );
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.#notices.listen((host) => listener({ type: 'changed', host }));
  }

  /** What logging a store shows: its service, never a token. */
  toJSON(): object {
    return { store: 'keyring', service: this.service };
  }
}
