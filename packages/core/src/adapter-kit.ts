import { type FetchHops, fetchHops, oneShot } from './adapter-kit/fetch-hops.js';
import { type HookedClients, hookedClients } from './adapter-kit/hooked-clients.js';
import { describeRule, type OriginRule, originRule } from './adapter-kit/origins.js';
import { type Recovery, recoveryFor } from './adapter-kit/recovery.js';
import { redactSent } from './adapter-kit/redaction.js';
import { AuthError, ErrorCode } from './errors.js';
import { TokenManager, type TokenManagerOptions } from './manager/token-manager.js';
import { checkOptionNames } from './options.js';

export type { RedirectOptions } from './adapter-kit/hooked-clients.js';
export type { OriginRule } from './adapter-kit/origins.js';

/** A manager shared among adapters and clients. */
export interface SharedManager {
  /**
   * A manager to share among adapters and clients; else one is made from the other options.
   * @example const manager = new TokenManager({ host }); oidcFetch({ manager });
   */
  manager: TokenManager;
  /** The fetch an adapter sends API requests with (the manager keeps its own). */
  fetch?: typeof fetch;
  /** Not with `manager`: the shared manager names its server; give `host` to it instead. */
  host?: never;
  /** Not with `manager`: the shared manager names its server; give `issuer` to it instead. */
  issuer?: never;
  /** Not with `manager`: the shared manager names its client. */
  clientId?: never;
  /** Not with `manager`: the shared manager has its dialect. */
  dialect?: never;
  /** Not with `manager`: the shared manager has its store. */
  store?: never;
}

/**
 * Options every adapter takes: `{ manager }`, or the manager's own options (`{ host, … }`,
 * `{ issuer, clientId, … }`, or none: the environment), and `origins`.
 */
export type AdapterOptions = (SharedManager | (TokenManagerOptions & { manager?: never })) &
  OriginsOption;

/** Where the adapters may send the token. */
export interface OriginsOption {
  /**
   * The origins the bearer token may be sent to. Requests anywhere else go out untouched.
   * @default the auth host's own origin
   * @example origins: ['https://api.example.org', /^https:\/\/[a-z]+\.example\.org$/]
   */
  origins?: OriginRule | readonly OriginRule[];
}

/**
 * What an adapter needs from core: three questions, each one call — in named parts: the origin
 * rule (`adapter-kit/origins.ts`), redirects followed hop by hop (`fetch-hops.ts`, and for
 * clients that attach in their own hooks `hooked-clients.ts`), recovery (`recovery.ts`) and
 * redaction (`redaction.ts`).
 */
export interface AdapterKit extends Recovery, FetchHops, HookedClients {
  readonly manager: TokenManager;
  /** Should a request to this URL carry the token? Only http(s) URLs on the allowed origins. */
  allows(url: string | URL | undefined): boolean;
  /** The `Authorization` value to attach (bearer tokens; with DPoP use {@link headers}). */
  authorization(signal?: AbortSignal | null): Promise<string>;
  /** Can this request body be sent a second time? One-shot streams cannot. */
  isReplayable(body: unknown): boolean;
  /**
   * Blanks `Authorization` and `DPoP` in what a client keeps of a request it sent (its config
   * or options headers, a fetch `Request`, a Node `ClientRequest`), so that an error logged by
   * the caller never shows the token. Call it on errors on their way out; a retry that re-uses
   * the config gets fresh headers from the adapter.
   */
  redact(...sent: unknown[]): void;
}

/** The adapter options' manager: the one shared, or one made from the other options. */
function managerOf(options: AdapterOptions): TokenManager {
  const { manager: shared, origins: _origins, ...managerOptions } = options;
  // Duck-typed: a manager from another copy of this package works too.
  if (
    shared !== undefined &&
    (typeof shared !== 'object' ||
      shared === null ||
      typeof shared.authorization !== 'function' ||
      typeof shared.recover !== 'function')
  ) {
    throw new AuthError(ErrorCode.INVALID_OPTIONS, 'manager must be a TokenManager.');
  }
  if (shared) checkOptionNames(managerOptions, ['manager', 'origins'], 'the adapter options');
  return shared ?? new TokenManager(managerOptions as TokenManagerOptions);
}

/**
 * Builds what every adapter uses: the manager (shared or made here), the origin rule, and the
 * attach / follow / recover / redact calls. Adapters stay thin: all policy lives here and in
 * the manager.
 */
export function createAdapterKit(options: AdapterOptions = {}): AdapterKit {
  const manager = managerOf(options);
  const { origins } = options;
  const rules = origins === undefined ? [manager.origin] : [origins].flat();
  const allows = originRule(rules);
  const recovery = recoveryFor(manager, allows, rules.map(describeRule));
  const hops = fetchHops(allows, recovery);
  return {
    manager,
    allows,
    ...hops,
    ...hookedClients(allows, hops),
    redact(...sent) {
      for (const one of sent) redactSent(one);
    },
    authorization: (signal) =>
      signal ? manager.authorization({ signal }) : manager.authorization(),
    ...recovery,
    isReplayable: (body) => !oneShot(body),
  };
}
