import { AuthError, ErrorCode } from './errors.js';
import { type HttpContext, send } from './http.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { type DeviceCodeEvent, writeDeviceCodeToStderr } from './prompt.js';
import type { Dialect } from './protocol.js';
import { sleep } from './sleep.js';
import type { TokenStore } from './store.js';
import type { DeviceCode, Token } from './token.js';
import { TokenManager } from './token-manager.js';

/** Options of {@link DeviceFlow}. */
export interface DeviceFlowOptions extends ClientOptions {
  /**
   * Where {@link DeviceFlow.authenticate} keeps tokens; the step-by-step methods store nothing.
   * @default new FileTokenStore()
   */
  store?: TokenStore;
}

export interface PollOptions {
  signal?: AbortSignal;
  /**
   * Seconds to wait for approval at most (the device code's own expiry also bounds it).
   * @default the flow's `loginTimeout` (600)
   */
  timeout?: number;
}

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against one server, step by step.
 *
 * @example
 * const flow = new DeviceFlow('https://myapp.example.com');
 * const code = await flow.getDeviceCode();
 * process.stderr.write(`Open ${code.uri} and enter: ${code.user_code}\n`);
 * const token = await flow.poll(code.device_code, code.interval);
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
export class DeviceFlow {
  private readonly dialect: Dialect;
  private readonly http: HttpContext;
  private readonly loginTimeout: number;
  private readonly clock: () => number;
  private readonly onDeviceCode: (event: DeviceCodeEvent) => void | Promise<void>;
  private readonly expiries = new WeakMap<object, number>();
  private readonly options: DeviceFlowOptions;

  constructor(hostOrOptions: string | DeviceFlowOptions) {
    this.options = typeof hostOrOptions === 'string' ? { host: hostOrOptions } : hostOrOptions;
    const resolved = resolveClientOptions(this.options);
    this.dialect = resolved.dialect;
    this.http = resolved.http;
    this.loginTimeout = resolved.loginTimeout;
    this.clock = resolved.clock;
    this.onDeviceCode = this.options.onDeviceCode ?? ((event) => writeDeviceCodeToStderr(event));
  }

  /** Starts a device login: asks the server for a user code and a device code. */
  async getDeviceCode(options: { signal?: AbortSignal } = {}): Promise<DeviceCode> {
    const request = await this.dialect.deviceAuthorizationRequest(options.signal);
    const code = await send(
      this.http,
      request,
      (answer) => this.dialect.parseDeviceAuthorization(answer),
      {
        signal: options.signal,
        final: (answer) => this.dialect.isFinalDeviceAnswer(answer),
      },
    );
    this.expiries.set(code, this.clock() + code.expires_in * 1000);
    return code;
  }

  /**
   * Polls until the user approves, at `interval` seconds (at least 1, with slight jitter);
   * `slow_down` adds 5 s for good. Ends with the token, or a typed error: `OIDC_ACCESS_DENIED`,
   * `OIDC_DEVICE_CODE_EXPIRED`, `OIDC_TIMEOUT`, `OIDC_SERVER_UNAVAILABLE`; an abort rejects with
   * the signal's reason.
   */
  async poll(
    deviceCode: string | DeviceCode,
    interval?: number,
    options: PollOptions = {},
  ): Promise<Token> {
    const code = typeof deviceCode === 'string' ? deviceCode : deviceCode.device_code;
    if (typeof code !== 'string' || code === '') {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'poll() needs the device_code from getDeviceCode().',
      );
    }
    let wait = Math.max(1, interval ?? (typeof deviceCode === 'object' ? deviceCode.interval : 5));
    const timeout = options.timeout ?? this.loginTimeout;
    const started = this.clock();
    const timeoutAt = started + timeout * 1000;
    const codeExpiresAt =
      typeof deviceCode === 'object'
        ? (this.expiries.get(deviceCode) ?? started + deviceCode.expires_in * 1000)
        : Number.POSITIVE_INFINITY;
    const deadline = Math.min(timeoutAt, codeExpiresAt);
    const request = await this.dialect.tokenRequest({ type: 'device_code', deviceCode: code });
    for (;;) {
      const jitter = wait * 1000 * 0.1 * Math.random();
      const left = deadline - this.clock();
      if (left <= 0) throw this.deadlineError(codeExpiresAt <= timeoutAt, timeout);
      await sleep(Math.min(wait * 1000 + jitter, left), options.signal);
      if (deadline - this.clock() <= 0)
        throw this.deadlineError(codeExpiresAt <= timeoutAt, timeout);
      const result = await send(
        this.http,
        request,
        (answer) => this.dialect.parsePoll(answer, this.clock() / 1000),
        { signal: options.signal },
      );
      if (result.status === 'done') return result.token;
      if (result.status === 'slow_down') wait += 5;
    }
  }

  private deadlineError(codeExpired: boolean, timeout: number): AuthError {
    return codeExpired
      ? new AuthError(
          ErrorCode.DEVICE_CODE_EXPIRED,
          'The device code expired before the login was approved. Run the login again and approve it in time.',
        )
      : new AuthError(
          ErrorCode.TIMEOUT,
          `The login was not approved within ${timeout} s. Run it again, or allow more time (loginTimeout / --timeout).`,
        );
  }

  /**
   * The whole device login: get a code, show it with `onDeviceCode`, poll until approved.
   * Does not read or write any token store; see {@link TokenManager} and {@link authenticate}.
   */
  async login(options: PollOptions = {}): Promise<Token> {
    return this.complete(await this.getDeviceCode(options), options);
  }

  /** Shows a device code with `onDeviceCode` and polls until the login ends. */
  async complete(code: DeviceCode, options: PollOptions = {}): Promise<Token> {
    const ended = new AbortController();
    try {
      await this.onDeviceCode({
        host: this.dialect.storeKey,
        uri: code.uri,
        verificationUri: code.verification_uri,
        userCode: code.user_code,
        expiresAt: new Date(this.clock() + code.expires_in * 1000),
        signal: ended.signal,
      });
      return await this.poll(code, code.interval, options);
    } finally {
      ended.abort();
    }
  }

  /**
   * A token the way {@link authenticate} gets one (stored, refreshed, or a new login), with
   * `force` always running a new device login.
   */
  async authenticate(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<Token> {
    const manager = new TokenManager(this.options);
    try {
      return await (options.force ? manager.login(options) : manager.getToken(options));
    } finally {
      manager.close();
    }
  }
}
