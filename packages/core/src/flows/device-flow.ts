import { services } from '#platform/services';
import { parseOAuthErrorJson } from '../dialects/protocol.js';
import { bindToken, loginKey } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import { type HttpAnswer, send } from '../http.js';
import type { Client, DeviceCodeEvent } from '../options.js';
import type { DeviceCode, Token } from '../token.js';

export interface PollOptions {
  signal?: AbortSignal;
  /**
   * Seconds to wait for approval at most (the device code's own expiry also bounds it).
   * @default the flow's `loginTimeout` (600)
   */
  timeout?: number;
}

/** Shows a device code to the user. */
export type ShowDeviceCode = (event: DeviceCodeEvent) => void | Promise<void>;

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) step by step, on resolved options. It
 * stores nothing and knows nothing of the manager; `DeviceFlow` (the public class) and the
 * `TokenManager` both drive it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
export class DeviceLogin {
  readonly #client: Client;
  readonly #show: ShowDeviceCode;
  readonly #expiries = new WeakMap<object, number>();

  constructor(client: Client, show?: ShowDeviceCode) {
    this.#client = client;
    this.#show =
      show ?? client.interaction.onDeviceCode ?? ((event) => services.showDeviceCode(event));
  }

  /** Starts a device login: asks the server for a user code and a device code. */
  async getDeviceCode(options: { signal?: AbortSignal } = {}): Promise<DeviceCode> {
    const { dialect, http, clock } = this.#client;
    const metadata = await this.#client.metadata(options.signal);
    const code = await send(
      http,
      dialect.deviceAuthorizationRequest(metadata),
      (answer) => dialect.parseDeviceAuthorizationAnswer(answer),
      { signal: options.signal, final: (answer) => dialect.isFinalDeviceAnswer(answer) },
    );
    this.#expiries.set(code, clock() + code.expires_in * 1000);
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
    const { dialect, http, clock, sleep } = this.#client;
    const code = typeof deviceCode === 'string' ? deviceCode : deviceCode?.device_code;
    if (typeof code !== 'string' || code === '') {
      throw new AuthError(
        ErrorCode.INVALID_OPTIONS,
        'poll() needs the device_code from getDeviceCode().',
      );
    }
    let wait = Math.max(1, interval ?? (typeof deviceCode === 'object' ? deviceCode.interval : 5));
    const timeout = options.timeout ?? this.#client.loginTimeout;
    const started = clock();
    const timeoutAt = started + timeout * 1000;
    const codeExpiresAt =
      typeof deviceCode === 'object'
        ? (this.#expiries.get(deviceCode) ?? started + deviceCode.expires_in * 1000)
        : Number.POSITIVE_INFINITY;
    const deadline = Math.min(timeoutAt, codeExpiresAt);
    const expired = () => deadlineError(codeExpiresAt <= timeoutAt, timeout);
    const metadata = await this.#client.metadata(options.signal);
    // A DPoP login binds its tokens to a key made for it.
    const key = dialect.dpop ? await loginKey() : undefined;
    const request = {
      ...dialect.tokenRequest({ type: 'device_code', deviceCode: code }, metadata),
      dpop: key,
    };
    for (;;) {
      const jitter = wait * 1000 * 0.1 * Math.random();
      const left = deadline - clock();
      if (left <= 0) throw expired();
      await sleep(Math.min(wait * 1000 + jitter, left), options.signal);
      if (deadline - clock() <= 0) throw expired();
      const result = await send(
        http,
        request,
        (answer) => dialect.parsePollAnswer(answer, clock() / 1000),
        // Auth0 answers slow_down with HTTP 429: a protocol answer, not a busy server to retry.
        { signal: options.signal, final: isSlowDown },
      );
      if (result.status === 'done') return bindToken(result.token, key, dialect.storeKey, true);
      if (result.status === 'slow_down') wait += 5;
    }
  }

  /** The whole device login: get a code, show it, poll until approved. Stores nothing. */
  async login(options: PollOptions = {}): Promise<Token> {
    return this.complete(await this.getDeviceCode(options), options);
  }

  /** Shows a device code and polls until the login ends. */
  async complete(code: DeviceCode, options: PollOptions = {}): Promise<Token> {
    const ended = new AbortController();
    try {
      await this.#show({
        host: this.#client.dialect.storeKey,
        uri: code.uri,
        verificationUri: code.verification_uri,
        userCode: code.user_code,
        expiresAt: new Date(this.#client.clock() + code.expires_in * 1000),
        signal: ended.signal,
      });
      return await this.poll(code, code.interval, options);
    } finally {
      ended.abort();
    }
  }
}

function deadlineError(codeExpired: boolean, timeout: number): AuthError {
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

/** A poll answer that says slow_down, whatever its status (400 by RFC 8628; 429 from Auth0). */
function isSlowDown(answer: HttpAnswer): boolean {
  return parseOAuthErrorJson(answer.json) === 'slow_down';
}
