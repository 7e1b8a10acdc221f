import { randomUUID } from 'node:crypto';
import {
  AuthError,
  ErrorCode,
  isTransientStoreError,
  type LockedEntry,
  parseStoredToken,
  printable,
  refuseUnknownOptions,
  type StoredToken,
  type StoreEvent,
  storedEntry,
  storeKey,
  type Token,
  type TokenStore,
} from '@oidc-auth/core';
import { type EncryptionKey, Sealer } from './crypto.js';
import { driverFor, type RedisClient, type RedisDriver } from './driver.js';
import * as scripts from './scripts.js';

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /**
   * A connected client, yours to close: an `ioredis` `Redis` (standalone or Sentinel) or
   * `Cluster`, a node-redis client, cluster or Sentinel client, or a {@link RedisDriver}.
   * The store opens one more connection for pub/sub (a duplicate of yours) while anything
   * listens, and closes it again.
   */
  client: RedisClient | RedisDriver;
  /**
   * Encrypts every entry with AES-256-GCM: a token read out of Redis is useless without the key.
   * Several keys rotate: the first encrypts, all decrypt. Required unless `plaintext: true`.
   */
  encryptionKey?: EncryptionKey | readonly EncryptionKey[];
  /**
   * Store tokens readable by anyone who can read the keys (ACLs, backups, `MONITOR`): an
   * explicit choice, for a Redis only this identity's processes can reach.
   */
  plaintext?: boolean;
  /**
   * Start of every key. @default 'oidc-auth'
   */
  prefix?: string;
  /**
   * Keeps this identity's tokens apart from others' in one Redis, e.g. `'team-a'` or a service
   * account's name. Keys are `{prefix:namespace}:…`.
   */
  namespace?: string;
  /**
   * Milliseconds a lock holder owns the lock without renewing it; renewed every third of it
   * while the holder works. A holder that dies frees the lock after at most this long.
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * How long to wait for a lock another process holds (its refresh or login).
   * @default 300_000
   */
  lockTimeoutMs?: number;
  /**
   * How long one Redis command may take before the store gives up with `OIDC_STORE_ERROR`.
   * @default 5_000
   */
  commandTimeoutMs?: number;
  /**
   * Replicas that must acknowledge the lock before a refresh token is spent, and each new token
   * before other processes are told of it (Redis `WAIT`). Redis replicates asynchronously: a
   * primary that fails over right after granting a lock or storing a token can lose either, and
   * the fleet then spends a refresh token twice (a server with reuse detection logs everyone
   * out). With `replicas: 1`, a lock no replica acknowledged within `replicaTimeoutMs` is given
   * back and the refresh fails with `OIDC_STORE_ERROR` before anything is spent; a token no
   * replica acknowledged is still used and announced (the primary has it) and reported as an
   * `OIDC_STORE_ERROR` event. Costs one round trip to a replica per lock and per write.
   * @default 0 (asynchronous replication)
   */
  replicas?: number;
  /** How long `WAIT` may wait for `replicas` to acknowledge. @default 1_000 */
  replicaTimeoutMs?: number;
  /** Milliseconds since the epoch, for `stored_at` and expiries. @default Date.now */
  clock?: () => number;
}

const noop = () => undefined;

/**
 * A `changed` event, with the entry when there is one to hand out: a copy per call, as each read
 * gives one (a manager's token is never another's object).
 */
function changed(host: string, entry: StoredToken | undefined): StoreEvent {
  return entry
    ? { type: 'changed', host, entry: () => structuredClone(entry) }
    : { type: 'changed', host };
}

/**
 * A lock waiter that listens for the holder's release notice still tries again after this long
 * without one (or when the holder's lease ends, if sooner): a notice lost on a reconnect costs a
 * second, not a hang. Not a poll: in a 401 storm every waiter would try again with each round.
 */
const safetyPollMs = 1000;
/**
 * How long a waiter lets a release pass when a new token was announced during its wait: time for
 * its manager to read the token and stop waiting (one round trip), before it tries the lock.
 */
const adoptionGraceMs = 100;

/** Every option of {@link RedisTokenStoreOptions}: any other is refused, naming the one meant. */
const redisStoreOptions = [
  'client',
  'encryptionKey',
  'plaintext',
  'prefix',
  'namespace',
  'leaseMs',
  'lockTimeoutMs',
  'commandTimeoutMs',
  'replicas',
  'replicaTimeoutMs',
  'clock',
] as const satisfies ReadonlyArray<keyof RedisTokenStoreOptions>;

/** One held lock: its owner string, the fence it saw, and when the lease ends by our clock. */
class Lease {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #extending = false;
  /** The host's fence when the lock was taken: only this holder can have moved it since. */
  readonly taken: number;

  constructor(
    readonly owner: string,
    public fence: number,
    private validUntil: number,
    private readonly leaseMs: number,
    private readonly lost: () => AuthError,
  ) {
    this.taken = fence;
  }

  /** Aborts the signal once our clock says the lease ended (the process was paused, say). */
  check(): void {
    if (!this.controller.signal.aborted && performance.now() >= this.validUntil) {
      this.controller.abort(this.lost());
    }
  }

  /** Renews the lease every third of it while the holder works. */
  keepAlive(extend: () => Promise<unknown>): void {
    this.#timer = setInterval(() => {
      this.check();
      if (this.controller.signal.aborted) return this.stop();
      if (this.#extending) return;
      this.#extending = true;
      const sentAt = performance.now();
      extend()
        .then((answer) => {
          if (Number(answer) === 1) this.validUntil = sentAt + this.leaseMs - margin(this.leaseMs);
          else this.controller.abort(this.lost());
        }, noop) // Redis unreachable: the lease simply runs out, and check() says so.
        .finally(() => {
          this.#extending = false;
        });
    }, this.leaseMs / 3);
    // The refresh it guards keeps the process alive; the timer must not.
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Our lease ends a little before Redis's: it started counting when the command was sent. */
function margin(leaseMs: number): number {
  return Math.max(5, leaseMs / 100);
}

/**
 * A token store in Redis, for fleets: many processes on many machines share one identity and
 * refresh it once. The lock is a lease (`SET NX PX`, renewed while held, released by
 * compare-and-delete); every write is fenced (it lands only while the writer still holds the
 * lock and the entry is the one it read), so a holder paused past its lease can never
 * overwrite a newer token. Writes are announced on a pub/sub channel so other processes adopt
 * a new token at once; requests never wait on Redis while a token is valid (the manager keeps
 * it in memory).
 *
 * @example
 * import { Redis } from 'ioredis';
 * const store = new RedisTokenStore({
 *   client: new Redis(process.env.REDIS_URL),
 *   encryptionKey: { id: '2026-11', key: process.env.TOKEN_KEY },
 * });
 * const manager = new TokenManager({ host: 'https://api.example.org', store, interactive: false });
 */
export class RedisTokenStore implements TokenStore {
  readonly #driver: RedisDriver;
  readonly #sealer: Sealer | undefined;
  readonly #tag: string;
  readonly #channel: string;
  readonly #leaseMs: number;
  readonly #lockTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  readonly #replicas: number;
  readonly #replicaTimeoutMs: number;
  readonly #clock: () => number;
  /** Names this store object in lock owners and change messages. */
  readonly #instance = randomUUID();
  #owners = 0;
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  /** Releases tried again after a failover (see `#releaseLock`); cancelled by `close()`. */
  readonly #releasing = new Set<ReturnType<typeof setTimeout>>();
  /** `close()` was called: no release is tried again after it (one in flight then ends there). */
  #closed = false;
  readonly #releaseWaiters = new Map<string, Set<() => void>>();
  /** Lock waiters told when another process announces a new token for their host. */
  readonly #changeWaiters = new Map<string, Set<() => void>>();
  /** Per host, the highest version (fence) and time of the entries read or written here. */
  readonly #newest = new Map<string, { version: number; at: number }>();
  #refs = 0;
  #subscription: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Aborts a subscription still being opened (Redis down, or the store closed meanwhile). */
  #subscribing: AbortController | undefined;

  constructor(options: RedisTokenStoreOptions) {
    if (typeof options !== 'object' || options === null || !options.client) {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'RedisTokenStore needs { client }: a connected ioredis or node-redis client.',
      );
    }
    refuseUnknownOptions(options, redisStoreOptions, 'RedisTokenStore', {
      timeout: 'commandTimeoutMs',
      lease: 'leaseMs',
      key: 'encryptionKey',
    });
    this.#driver = driverFor(options.client);
    const keys = options.encryptionKey;
    if (keys !== undefined && options.plaintext) {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'Pass either encryptionKey or plaintext: true, not both.',
      );
    }
    if (keys === undefined && options.plaintext !== true) {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'RedisTokenStore needs encryptionKey: { id, key } (32 random bytes, e.g. `openssl rand -base64 32`), so tokens in a shared Redis are useless without it — or plaintext: true to store them readable by anyone who can read the keys.',
      );
    }
    this.#sealer = keys === undefined ? undefined : new Sealer(Array.isArray(keys) ? keys : [keys]);
    const prefix = options.prefix ?? 'oidc-auth';
    for (const [name, value] of [
      ['prefix', prefix],
      ['namespace', options.namespace],
    ] as const) {
      // No ':' either: prefix "x:y" and prefix "x" with namespace "y" would share every key.
      if (value !== undefined && (typeof value !== 'string' || !/^[^{}:\s]{1,200}$/.test(value))) {
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          `${name} must be 1 to 200 characters without spaces, braces or colons.`,
        );
      }
    }
    // One hash tag for every key: a Redis Cluster keeps them on one node, so scripts may touch several.
    this.#tag = `{${prefix}${options.namespace ? `:${options.namespace}` : ''}}`;
    this.#channel = `${this.#tag}:events`;
    this.#leaseMs = positive('leaseMs', options.leaseMs, 30_000, 100);
    this.#lockTimeoutMs = positive('lockTimeoutMs', options.lockTimeoutMs, 300_000, 0);
    this.#commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 5_000, 1);
    this.#replicas = positive('replicas', options.replicas, 0, 0);
    if (!Number.isInteger(this.#replicas)) {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'replicas must be a whole number.');
    }
    this.#replicaTimeoutMs = positive('replicaTimeoutMs', options.replicaTimeoutMs, 1_000, 1);
    this.#clock = options.clock ?? Date.now;
  }

  async get(host: string): Promise<StoredToken | undefined> {
    const key = storeKey(host);
    const raw = await this.#run(['GET', this.#entryKey(key)], `reading the token of ${key}`);
    return this.#decode(key, raw);
  }

  async put(host: string, token: Token): Promise<void> {
    // A plain put takes the lock for its write; a lease lost in between is simply tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withLock(host, (entry) => entry.put(token));
      } catch (error) {
        if (!(error instanceof AuthError && error.code === ErrorCode.LOCK_LOST) || attempt === 3) {
          throw error;
        }
      }
    }
  }

  async remove(host: string): Promise<boolean> {
    const key = storeKey(host);
    return this.#withLease(key, async (lease) => {
      const answer = Number(
        await this.#eval(
          scripts.removeLocked,
          [this.#lockKey(key), this.#entryKey(key), this.#fencesKey(), this.#hostsKey()],
          [lease.owner, key, this.#channel, this.#instance],
          `removing the token of ${key}`,
        ),
      );
      if (answer === -1) throw this.#lockLost(key);
      this.#emit({ type: 'changed', host: key });
      return answer === 1;
    });
  }

  async hosts(): Promise<string[]> {
    const hosts = (await this.#run(['SMEMBERS', this.#hostsKey()], 'listing hosts')) as string[];
    if (!Array.isArray(hosts) || hosts.length === 0) return [];
    const entries = (await this.#run(
      ['MGET', ...hosts.map((host) => this.#entryKey(String(host)))],
      'listing hosts',
    )) as unknown[];
    const usable: string[] = [];
    for (const [index, host] of hosts.entries()) {
      try {
        if (this.#decode(String(host), entries[index], false)) usable.push(String(host));
      } catch {
        // An entry this store cannot decrypt is not usable here.
      }
    }
    return usable;
  }

  async clear(): Promise<void> {
    const hosts = (await this.#run(['SMEMBERS', this.#hostsKey()], 'listing hosts')) as string[];
    for (const host of Array.isArray(hosts) ? hosts : []) await this.remove(String(host));
  }

  /** `options.signal` ends a wait for the lock (another process's token made it needless). */
  withLock<T>(
    host: string,
    fn: (entry: LockedEntry) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const key = storeKey(host);
    return this.#withLease(
      key,
      (lease) =>
        fn({
          get: () => this.#readLocked(key, lease),
          put: (token) => this.#writeLocked(key, lease, token),
          get signal() {
            lease.check();
            return lease.controller.signal;
          },
        }),
      options.signal,
    );
  }

  /**
   * Listens for what the store notices: `changed` when a token was stored or removed (by
   * another process over pub/sub, or through this object), and `corrupt` when an unreadable
   * entry was moved aside. Opens the pub/sub connection while anyone listens.
   */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    this.#ref().catch(noop);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#listeners.delete(listener);
      this.#unref();
    };
  }

  /** Closes the store's own pub/sub connection now. Your client stays open: close it yourself. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#releasing) clearTimeout(timer);
    this.#releasing.clear();
    this.#refs = 0;
    this.#listeners.clear();
    this.#subscribing?.abort();
    const subscription = this.#subscription;
    this.#subscription = undefined;
    const stop = await subscription;
    await stop?.();
  }

  /** What logging a store shows: never a token or a key. */
  toJSON(): object {
    return { keys: `${this.#tag}:*`, encrypted: this.#sealer !== undefined };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisTokenStore { keys: '${this.#tag}:*', encrypted: ${this.#sealer !== undefined} }`;
  }

  // --- keys -------------------------------------------------------------------------------

  #lockKey(host: string): string {
    return `${this.#tag}:lock:${host}`;
  }

  #entryKey(host: string): string {
    return `${this.#tag}:entry:${host}`;
  }

  #fencesKey(): string {
    return `${this.#tag}:fences`;
  }

  #hostsKey(): string {
    return `${this.#tag}:hosts`;
  }

  // --- the lock ---------------------------------------------------------------------------

  /** Runs `fn` holding the lock of `host`, renewing the lease meanwhile, releasing it after. */
  async #withLease<T>(
    host: string,
    fn: (lease: Lease) => Promise<T>,
    wanted?: AbortSignal,
  ): Promise<T> {
    void this.#listen();
    const lease = await this.#acquire(host, wanted);
    lease.keepAlive(() =>
      this.#eval(
        scripts.extend,
        [this.#lockKey(host)],
        [lease.owner, String(this.#leaseMs)],
        `renewing the lock of ${host}`,
      ),
    );
    try {
      return await fn(lease);
    } finally {
      lease.stop();
      // Freed for the next holder at once; if this fails, the lease frees it when it ends.
      await this.#releaseLock(host, lease.owner).catch(noop);
    }
  }

  /**
   * Releases the lock (compare-and-delete: never another holder's). A release that failed for a
   * reason that passes (a failover under way) is tried again in the background while the lease
   * could still hold the lock: else a promoted replica keeps it, and every waiter waits out the
   * lease of a holder that is done. `abandoned`: the lock command itself was given up on, and a
   * client may still send it again later (a Cluster client re-sends a command after a failover,
   * on another connection, after this release): tried again while the lease could last even
   * when it found nothing to release, so such a lock is held for nobody for 2 s at most.
   */
  #releaseLock(host: string, owner: string, abandoned = false): Promise<unknown> {
    const leaseEnds = performance.now() + this.#leaseMs;
    const once = (): Promise<unknown> =>
      this.#eval(
        scripts.release,
        [this.#lockKey(host)],
        [owner, this.#channel, JSON.stringify({ t: 'released', h: host })],
        `releasing the lock of ${host}`,
      );
    // Tried again: after a failure that passes, or (abandoned) until it released something.
    const after = (wait: number) => ({
      released: (answer: unknown) => {
        if (abandoned && Number(answer) !== 1) this.#later(leaseEnds, wait, attempt);
      },
      failed: (error: unknown) => {
        if (isTransientStoreError(error)) this.#later(leaseEnds, wait, attempt);
      },
    });
    const attempt = (wait: number) => {
      const next = after(Math.min(2 * wait, 2_000));
      once().then(next.released, next.failed);
    };
    const first = once();
    const next = after(100);
    first.then(next.released, next.failed);
    return first;
  }

  /** Runs `attempt(wait)` after `wait` ms unless that is past `ends`; `close()` cancels it. */
  #later(ends: number, wait: number, attempt: (wait: number) => void): void {
    if (this.#closed || performance.now() + wait >= ends) return;
    const timer = setTimeout(() => {
      this.#releasing.delete(timer);
      attempt(wait);
    }, wait);
    timer.unref?.();
    this.#releasing.add(timer);
  }

  async #acquire(host: string, wanted?: AbortSignal): Promise<Lease> {
    const owner = `${this.#instance}:${++this.#owners}`;
    const deadline = performance.now() + this.#lockTimeoutMs;
    let backoff = 20;
    // A manager on this store listens already: the first attempt is made listening, so a busy
    // lock costs one attempt, not two.
    let listening = this.#refs > 0;
    if (listening) await this.#ref().catch(noop);
    // Was the last wait ended by a release notice? If the lock was still held, that notice was
    // stale or spoofed: the next wait does not listen, so notices cannot make us spin.
    let woken = false;
    // Another process announced a new token for this host while we waited: the manager reads
    // it and, when it is usable, stops this wait (`wanted`). A release heard after that
    // announcement is let pass for a moment, so that the adopting process does not take the
    // lock just to read what it already has.
    let announced = false;
    const stopHearing = this.#hearChanges(host, () => {
      announced = true;
    });
    try {
      for (;;) {
        // Not needed any more (another process's token arrived while this one waited).
        if (wanted?.aborted) throw wanted.reason;
        const sentAt = performance.now();
        const [taken, value] = (await this.#eval(
          scripts.acquire,
          [this.#lockKey(host), this.#fencesKey()],
          [owner, String(this.#leaseMs), host],
          `locking the token of ${host}`,
        ).catch((error: unknown) => {
          // A lock command we gave up on may still run when Redis comes back, or be sent again
          // by the client after a failover: released behind it, and watched for a while.
          this.#releaseLock(host, owner, true).catch(noop);
          throw error;
        })) as [number, number];
        if (Number(taken) === 1) {
          const validUntil = sentAt + this.#leaseMs - margin(this.#leaseMs);
          const lease = new Lease(owner, Number(value), validUntil, this.#leaseMs, () =>
            this.#lockLost(host),
          );
          await this.#lockReplicated(host, owner);
          return lease;
        }
        const left = deadline - performance.now();
        if (left <= 0) {
          throw new AuthError(
            ErrorCode.STORE_ERROR,
            `Could not lock the token of ${host} in Redis within ${this.#lockTimeoutMs / 1000} s: another process holds it (refreshing or logging in). Try again; a lock whose holder died frees itself within ${this.#leaseMs / 1000} s.`,
          );
        }
        if (!listening) {
          // Hear the holder's release instead of polling for it; then try once more at once,
          // in case it was released before we listened.
          listening = true;
          await this.#ref().catch(noop);
          continue;
        }
        const holderLeft = Number(value) > 0 ? Number(value) + 1 : 1;
        // Listening, the holder's release notice ends the wait; the timer is only the safety
        // net for a notice lost (and the lease, for a holder that died): not a poll.
        const wait = Math.min(holderLeft, Math.max(backoff, safetyPollMs), left);
        if (woken) {
          woken = false;
          await this.#released(host, Math.min(backoff, left), wanted, false);
        } else {
          woken = await this.#released(host, wait, wanted);
          if (woken && announced && !wanted?.aborted) {
            await this.#released(host, Math.min(adoptionGraceMs, left), wanted, false);
          }
        }
        announced = false;
        backoff = Math.min(1000, backoff * 2) * (0.75 + Math.random() / 2);
      }
    } finally {
      if (listening) this.#unref();
      stopHearing();
    }
  }

  /** Calls `heard` when another process announces a new token for `host`; returns the stop. */
  #hearChanges(host: string, heard: () => void): () => void {
    const changes = this.#changeWaiters.get(host) ?? new Set<() => void>();
    this.#changeWaiters.set(host, changes);
    changes.add(heard);
    return () => {
      changes.delete(heard);
      if (changes.size === 0 && this.#changeWaiters.get(host) === changes) {
        this.#changeWaiters.delete(host);
      }
    };
  }

  /**
   * Resolves when a holder announces the release of `host`'s lock (true; not listened for with
   * `hear: false`), after `ms`, or when `wanted` aborts (false).
   */
  #released(host: string, ms: number, wanted?: AbortSignal, hear = true): Promise<boolean> {
    return new Promise((resolve) => {
      if (wanted?.aborted) return resolve(false);
      let waiters = this.#releaseWaiters.get(host);
      if (!waiters) {
        waiters = new Set();
        this.#releaseWaiters.set(host, waiters);
      }
      const set = waiters;
      const finish = (byNotice: boolean) => {
        clearTimeout(timer);
        wanted?.removeEventListener('abort', gone);
        set.delete(done);
        if (set.size === 0 && this.#releaseWaiters.get(host) === set) {
          this.#releaseWaiters.delete(host);
        }
        resolve(byNotice);
      };
      const done = () => finish(true);
      const gone = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      wanted?.addEventListener('abort', gone, { once: true });
      if (hear) set.add(done);
    });
  }

  #lockLost(host: string): AuthError {
    return new AuthError(
      ErrorCode.LOCK_LOST,
      `The Redis lock on the token of ${host} was lost: this process was paused or cut off from Redis past the ${this.#leaseMs / 1000} s lease, and another may have taken over. Nothing was written.`,
    );
  }

  async #readLocked(host: string, lease: Lease): Promise<StoredToken | undefined> {
    const answer = (await this.#eval(
      scripts.readLocked,
      [this.#lockKey(host), this.#entryKey(host), this.#fencesKey()],
      [lease.owner, host],
      `reading the token of ${host}`,
    )) as [number, number?, unknown?];
    if (Number(answer[0]) !== 1) {
      const error = this.#lockLost(host);
      lease.controller.abort(error);
      throw error;
    }
    lease.fence = Number(answer[1]);
    return this.#decode(host, answer[2]);
  }

  async #writeLocked(host: string, lease: Lease, token: Token): Promise<void> {
    lease.check();
    if (lease.controller.signal.aborted) throw this.#lockLost(host);
    // The entry carries the fence this write makes (sealed with it, when encrypted): with
    // `stored_at`, it tells an entry put back from an older state (a rollback) from a newer one.
    const storedAt = this.#clock() / 1000;
    const text = JSON.stringify({ token, stored_at: storedAt, v: lease.fence + 1 });
    const entry = this.#sealer ? this.#sealer.seal(text, this.#aad(host)) : text;
    // A sealed entry goes with its announcement: the others open it instead of reading it back
    // (a plain one does not: anyone who can publish could forge it).
    const announced = JSON.stringify({
      t: 'changed',
      h: host,
      o: this.#instance,
      ...(this.#sealer ? { e: entry } : {}),
    });
    const longest = Math.max(Number(token.expires) || 0, Number(token.refresh_expires) || 0);
    const answer = Number(
      await this.#eval(
        scripts.writeLocked,
        [this.#lockKey(host), this.#entryKey(host), this.#fencesKey(), this.#hostsKey()],
        [
          lease.owner,
          String(lease.fence),
          entry,
          String(Math.max(0, Math.floor(longest * 1000))),
          host,
          this.#channel,
          this.#instance,
          // With replicas to wait for, the change is announced after they acknowledged it.
          this.#replicas > 0 ? '0' : this.#sealer ? '2' : '1',
          String(lease.taken),
        ],
        `storing the token of ${host}`,
      ),
    );
    if (answer < 0) {
      const error = this.#lockLost(host);
      lease.controller.abort(error);
      throw error;
    }
    lease.fence = answer;
    this.#rolledBack(host, answer, storedAt);
    let unreplicated: AuthError | undefined;
    if (this.#replicas > 0) {
      const acknowledged = await this.#wait(this.#entryKey(host), `storing the token of ${host}`);
      if (acknowledged < this.#replicas) {
        unreplicated = new AuthError(
          ErrorCode.STORE_ERROR,
          `The new token of ${host} is stored on the Redis primary, but ${acknowledged} of the ${this.#replicas} replicas asked for acknowledged it within ${this.#replicaTimeoutMs / 1000} s: a failover now could lose it. It is used and shared as it is; check the replicas (INFO replication).`,
        );
      }
      await this.#run(
        ['PUBLISH', this.#channel, announced],
        `announcing the token of ${host}`,
        this.#entryKey(host),
      );
    }
    // Other processes hear it over pub/sub; listeners of this very object (other managers in
    // this process) hear it here, with the entry as a read would give it.
    this.#emit(changed(host, storedEntry(token, storedAt, storedAt)));
    if (unreplicated) throw unreplicated;
  }

  /**
   * With `replicas`, the lock just taken must be on that many replicas before the holder spends
   * anything: otherwise it is given back and the refresh fails, typed, with nothing spent.
   */
  async #lockReplicated(host: string, owner: string): Promise<void> {
    if (this.#replicas === 0) return;
    let acknowledged: number;
    try {
      acknowledged = await this.#wait(this.#lockKey(host), `locking the token of ${host}`);
    } catch (error) {
      await this.#releaseLock(host, owner).catch(noop);
      throw error;
    }
    if (acknowledged >= this.#replicas) return;
    await this.#releaseLock(host, owner).catch(noop);
    throw new AuthError(
      ErrorCode.STORE_ERROR,
      `${acknowledged} of the ${this.#replicas} Redis replicas asked for acknowledged the lock of ${host} within ${this.#replicaTimeoutMs / 1000} s, so nothing was refreshed (a failover now could lose the lock, and two processes would spend one refresh token). Check the replicas (INFO replication), or lower the store's replicas option.`,
    );
  }

  /** `WAIT replicas timeout` on the connection that wrote `key`: how many acknowledged. */
  async #wait(key: string, what: string): Promise<number> {
    const args = ['WAIT', String(this.#replicas), String(this.#replicaTimeoutMs)];
    const answer = this.#driver.wait
      ? await this.#runWith(() => this.#driver.wait?.(args, key) as Promise<number>, what)
      : await this.#run(args, what, key);
    return Number(answer);
  }

  // --- entries ----------------------------------------------------------------------------

  /** Binds a ciphertext to its host and namespace: an entry copied elsewhere does not open. */
  #aad(host: string): string {
    return `${this.#tag}\n${host}`;
  }

  /**
   * The stored token, or undefined: nothing there, about to be evicted, or unreadable (moved
   * aside and reported). Decryption problems are thrown: the entry may be fine for a store
   * that has the right key, so it is left alone.
   */
  #decode(host: string, raw: unknown, quarantine = true): StoredToken | undefined {
    if (raw === null || raw === undefined) return undefined;
    const text = typeof raw === 'string' ? raw : String(raw);
    let plain = text;
    if (this.#sealer && !Sealer.isSealed(text)) {
      // Not encrypted at all (a plaintext store's write, a raw SET): never trusted here, and it
      // would block every encrypted reader. Moved aside and reported; a login writes anew.
      if (quarantine)
        this.#quarantine(
          host,
          text,
          'the entry is not encrypted, and this store was given encryptionKey',
        );
      return undefined;
    }
    if (this.#sealer) plain = this.#sealer.open(text, this.#aad(host), host);
    else if (Sealer.isSealed(text)) {
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `The token store entry for ${host} is encrypted: give this store its encryptionKey. The entry was left as it is.`,
      );
    }
    let entry: { token?: unknown; stored_at?: unknown; v?: unknown } | undefined;
    try {
      entry = JSON.parse(plain) as typeof entry;
    } catch {
      entry = undefined;
    }
    const token = entry && typeof entry === 'object' ? parseStoredToken(entry.token) : undefined;
    if (!token || !entry) {
      if (quarantine) this.#quarantine(host, text);
      return undefined;
    }
    if (this.#rolledBack(host, Number(entry.v) || 0, Number(entry.stored_at) || 0))
      return undefined;
    // Evicted as the file store (and py-oidc-auth-client) evict: one rule, in core.
    return storedEntry(token, entry.stored_at, this.#clock() / 1000);
  }

  /**
   * Is this entry older than one this store already read or wrote for the host? Both its
   * version (the fence of its write) and its time are lower: an older state put back (a
   * rollback, a restored backup). Such an entry is never handed out — adopting it would spend
   * a rotated-out refresh token and log the fleet out. A Redis that restarted empty starts its
   * fences again, but its new entries are newer in time, so they are read.
   */
  #rolledBack(host: string, version: number, at: number): boolean {
    const seen = this.#newest.get(host);
    if (seen && version < seen.version && at < seen.at) return true;
    this.#newest.set(host, {
      version: Math.max(version, seen?.version ?? 0),
      at: Math.max(at, seen?.at ?? 0),
    });
    return false;
  }

  /** Moves an unreadable entry aside (nothing is deleted) and tells the listeners. */
  #quarantine(
    host: string,
    text: string,
    reason = 'the entry is not a token this library can read',
  ): void {
    const aside = `${this.#tag}:corrupt:${host}:${new Date(this.#clock()).toISOString()}`;
    this.#eval(
      scripts.quarantine,
      [this.#entryKey(host), aside, this.#hostsKey()],
      [text, host],
      `moving aside the unreadable entry of ${host}`,
    ).then((moved) => {
      if (Number(moved) !== 1) return;
      this.#emit({
        type: 'corrupt',
        path: this.#entryKey(host),
        movedTo: aside,
        reason,
      });
    }, noop);
  }

  // --- pub/sub ----------------------------------------------------------------------------

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not break the store.
      }
    }
  }

  #message(text: string): void {
    let message: { t?: unknown; h?: unknown; o?: unknown; e?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.h !== 'string') return;
    if (message.t === 'released') {
      for (const wake of [...(this.#releaseWaiters.get(message.h) ?? [])]) wake();
    } else if (message.t === 'changed' && message.o !== this.#instance) {
      for (const heard of [...(this.#changeWaiters.get(message.h) ?? [])]) heard();
      this.#emit(changed(message.h, this.#pushed(message.h, message.e)));
    }
  }

  /**
   * The entry an announcement carried, opened as a read opens it (this store's key, bound to the
   * host and namespace; older than what this store has seen: none): only sealed ones, so a
   * notice anyone could publish cannot hand out a token. Anything else — no entry, a plain one,
   * one that does not open — is a notice without an entry: its listeners read the store.
   */
  #pushed(host: string, sealed: unknown): StoredToken | undefined {
    if (!this.#sealer || typeof sealed !== 'string' || !Sealer.isSealed(sealed)) return undefined;
    try {
      return this.#decode(host, sealed, false);
    } catch {
      return undefined;
    }
  }

  /** One more listener (a subscriber, or a lock waiter): resolves once the connection is up. */
  async #ref(): Promise<void> {
    this.#refs++;
    await this.#listen();
  }

  /**
   * One pub/sub connection while anything listens. A failed attempt (Redis down when the
   * listeners came) leaves none; the next call — every lock takes one — tries again.
   */
  #listen(): Promise<unknown> {
    if (this.#refs > 0) {
      this.#subscription ??= this.#subscribe().catch(() => {
        this.#subscription = undefined;
        return undefined;
      });
    }
    return this.#subscription ?? Promise.resolve();
  }

  /**
   * Opens the subscription within the command time limit: a Redis that accepts connections
   * but does not answer (paused) must not leave it pending for ever. One that opens too late
   * is closed at once.
   */
  #subscribe(): Promise<() => Promise<void>> {
    const abort = new AbortController();
    this.#subscribing = abort;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        abort.abort();
        reject(new Error('subscribe timed out'));
      }, this.#commandTimeoutMs);
      abort.signal.addEventListener('abort', () => reject(new Error('subscribe abandoned')), {
        once: true,
      });
      this.#driver
        .subscribe(this.#channel, (message) => this.#message(message), abort.signal)
        .then(
          (stop) => {
            clearTimeout(timer);
            if (abort.signal.aborted) stop().catch(noop);
            else resolve(stop);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        )
        .finally(() => {
          if (this.#subscribing === abort) this.#subscribing = undefined;
        });
    });
  }

  #unref(): void {
    this.#refs = Math.max(0, this.#refs - 1);
    if (this.#refs > 0 || !this.#subscription) return;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    subscription.then((stop) => stop?.()).catch(noop);
  }

  // --- commands ---------------------------------------------------------------------------

  #eval(script: string, keys: string[], args: string[], what: string): Promise<unknown> {
    return this.#run(['EVAL', script, String(keys.length), ...keys, ...args], what, keys[0]);
  }

  /**
   * One command with a time limit; failures become STORE_ERRORs that carry no argument. A
   * Redis Cluster moving the store's slot answers TRYAGAIN to a script whose keys are split
   * between the two nodes for the moment (the script did not run): sent again after a short
   * wait, within the same time limit. ioredis retries that itself; node-redis does not.
   */
  #run(args: string[], what: string, key = args[1] ?? ''): Promise<unknown> {
    return this.#runWith(() => this.#driver.command(args, key), what);
  }

  async #runWith(send: () => Promise<unknown>, what: string): Promise<unknown> {
    const deadline = Date.now() + this.#commandTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#runOnce(send, what, deadline - Date.now());
      } catch (error) {
        const wait = Math.min(2 ** attempt * 10, 200);
        if (!isTryAgain(error) || Date.now() + wait >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async #runOnce(send: () => Promise<unknown>, what: string, limitMs: number): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = send();
    pending.catch(noop);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AuthError(
              ErrorCode.STORE_ERROR,
              `Redis did not answer within ${this.#commandTimeoutMs / 1000} s while ${what}: is it running and reachable? Requests with a valid token in memory go on; this one can be tried again.`,
              { detail: { transient: true } },
            ),
          ),
        Math.max(1, limitMs),
      );
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (error) {
      if (error instanceof AuthError) throw error;
      // The client's error may carry the command's arguments (a token): keep its message only.
      const reason = printable(error instanceof Error ? error.message : String(error));
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `Redis failed while ${what}: ${reason}. Is it running and reachable? Requests with a valid token in memory go on; this one can be tried again.`,
        { cause: new Error(reason), detail: { transient: passes(reason) } },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Failures that pass by themselves: a connection lost or refused (a restart, a failover), a
 * primary demoted or not elected yet (READONLY, MASTERDOWN), a server loading its data, a
 * Cluster moving a slot. A write under the lock is tried again for them (see core's LockedEntry).
 */
function passes(reason: string): boolean {
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|connection is closed|connection lost|socket closed|client is closed|stream isn't writeable|READONLY|MASTERDOWN|LOADING|CLUSTERDOWN|TRYAGAIN/i.test(
    reason,
  );
}

/** Redis Cluster's "the slot is moving, send it again" answer (the command did not run). */
function isTryAgain(error: unknown): boolean {
  return error instanceof AuthError && /^TRYAGAIN\b/.test(String((error.cause as Error)?.message));
}

function positive(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, `${name} must be a number ≥ ${min} (ms).`);
  }
  return value;
}
