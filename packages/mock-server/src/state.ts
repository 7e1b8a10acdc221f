import { randomBytes } from 'node:crypto';
import { MockIdp } from './idp.js';
import { SigningKey } from './jwt.js';
import type { MockClient } from './openid-paths.js';
import {
  defaultConfig,
  MockConfigError,
  type MockServerConfig,
  type MockServerOptions,
  mergeConfig,
} from './options.js';
import { createStats, type MockStats, type RouteName } from './stats.js';

/** A fault to inject into the next `count` calls of a route. */
export interface FaultSpec {
  /** Which route misbehaves. */
  route: RouteName;
  /** Answer with this status (and `body`, default an HTML error page) instead of the real answer. */
  status?: number;
  /** The body of the faulty answer. @default an HTML page naming the status */
  body?: string;
  /** Extra headers of the faulty answer, e.g. `{"retry-after": "1"}`. */
  headers?: Record<string, string>;
  /** Wait this long before answering (then answer normally unless `status` or `reset`). */
  delayMs?: number;
  /** Reset the connection instead of answering. */
  reset?: boolean;
  /** How many calls this applies to. @default 1 */
  count?: number;
  /**
   * In-process only: called when the request arrives, before anything is answered or spent; the
   * answer waits until it settles. A test acts at an exact point, e.g. while a refresh is in
   * flight at the server.
   */
  before?: () => Promise<unknown> | unknown;
}

/**
 * Everything a mock server remembers: its settings, the IdP (codes and token families), the
 * counters, the queued faults and the timers of delayed answers.
 */
export class MockState {
  readonly initial: MockServerConfig;
  readonly settings: { current: MockServerConfig };
  readonly idp: MockIdp;
  stats = createStats();
  faults = new Map<RouteName, Array<FaultSpec & { remaining: number }>>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Set once the server listens: `http://127.0.0.1:PORT`. */
  baseUrl = '';
  /** The address the server listens on (its own name is accepted as a Host). */
  listenHost = '127.0.0.1';
  /** The standard provider's signing key, made at start. */
  readonly key = new SigningKey();
  /** The clients the standard provider knows; undefined: any client id. */
  readonly clients: readonly MockClient[] | undefined;
  /** The DPoP nonce the token endpoint asks for when `dpopNonce` is on. */
  readonly dpopNonce = randomBytes(16).toString('base64url');
  /** `jti`s of DPoP proofs seen: a proof is used once. */
  proofsSeen = new Set<string>();

  constructor(
    options: Omit<MockServerOptions, 'host' | 'port' | 'clock' | 'cors' | 'clients'>,
    readonly clock: () => number,
    clients?: readonly MockClient[],
  ) {
    this.clients = clients;
    this.initial = mergeConfig(defaultConfig, options);
    this.settings = { current: this.initial };
    this.idp = new MockIdp(this.settings, clock);
  }

  configure(patch: Record<string, unknown>): MockServerConfig {
    this.settings.current = mergeConfig(this.settings.current, patch);
    return this.settings.current;
  }

  addFault(spec: FaultSpec): void {
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new MockConfigError('count must be ≥ 1');
    if (spec.status !== undefined && (spec.status < 100 || spec.status > 599)) {
      throw new MockConfigError('status must be an HTTP status');
    }
    const queue = this.faults.get(spec.route) ?? [];
    queue.push({ ...spec, remaining: count });
    this.faults.set(spec.route, queue);
  }

  takeFault(route: RouteName): FaultSpec | undefined {
    const queue = this.faults.get(route);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) queue.shift();
    return head;
  }

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  snapshot(): MockStats {
    return structuredClone({
      ...this.stats,
      device: {
        issued: this.idp.counters.deviceCodesIssued,
        polls: this.stats.grants.device_code,
        pollsAfterApproval: this.idp.counters.pollsAfterApproval,
      },
      reuseDetected: this.idp.counters.reuseDetected,
    });
  }

  resetStats(): void {
    this.stats = createStats();
    this.idp.resetCounters();
  }

  reset(): void {
    this.settings.current = this.initial;
    this.idp.reset();
    this.proofsSeen = new Set();
    this.resetStats();
    this.faults = new Map();
  }

  stopTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
