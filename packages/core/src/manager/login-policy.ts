import { base } from '#platform/base';
import { services } from '#platform/services';
import type { TraceContext } from '../diagnostics.js';
import type { Grant } from '../dialects/protocol.js';
import { errorDetail, parseOAuthErrorJson, parseTokenAnswer } from '../dialects/protocol.js';
import { bindToken, loginKey } from '../dpop.js';
import { AuthError, ErrorCode } from '../errors.js';
import { cannotDoDeviceFlow, runCodeFlow } from '../flows/code-flow.js';
import { DeviceLogin } from '../flows/device-flow.js';
import { send } from '../http.js';
import { type LoginSituation, loginSituation } from '../interactive.js';
import type { Client } from '../options.js';
import type { DeviceCode, Token } from '../token.js';
import type { Emitter, TokenManagerEvents } from './events.js';

type Verdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Who may log in, and how: the device flow when someone can answer it, the browser
 * (authorization-code) flow when the server cannot do the device flow and someone is at a
 * browser, else `OIDC_LOGIN_REQUIRED` naming the command to run.
 */
export class LoginPolicy {
  readonly #client: Client;
  readonly #events: Emitter<TokenManagerEvents>;
  readonly #device: DeviceLogin;
  /** Where `oidc-auth login` helps: the token file it writes is this manager's store. */
  readonly #sharedFile: boolean;

  constructor(client: Client, events: Emitter<TokenManagerEvents>, sharedFile = true) {
    this.#client = client;
    this.#events = events;
    this.#sharedFile = sharedFile;
    const prompt = client.interaction.onDeviceCode ?? ((event) => services.showDeviceCode(event));
    this.#device = new DeviceLogin(client, async (event) => {
      events.emit('deviceCode', event);
      await prompt(event);
    });
  }

  /** Whether a device login may start here. */
  deviceLogin(): Verdict {
    const { interactive, onDeviceCode } = this.#client.interaction;
    if (interactive === true) return { allowed: true };
    if (interactive === false)
      return { allowed: false, reason: 'interactive login is switched off' };
    if (onDeviceCode) return { allowed: true };
    const situation = this.#situation();
    return situation.interactive ? { allowed: true } : { allowed: false, reason: situation.reason };
  }

  /**
   * Whether a browser login may start here: `onAuthorizationUrl` given is consent to one (the
   * program shows the URL its own way: a desktop app, a notebook, a mail), else a person at a
   * terminal, or `interactive: true`.
   */
  browserLogin(): Verdict {
    const { interactive, onAuthorizationUrl } = this.#client.interaction;
    if (interactive === false)
      return { allowed: false, reason: 'interactive login is switched off' };
    if (interactive === true || onAuthorizationUrl) return { allowed: true };
    const situation = this.#situation();
    return situation.interactive ? { allowed: true } : { allowed: false, reason: situation.reason };
  }

  /** Whether a person can answer a prompt: never where the platform has no way to ask. */
  #situation(): LoginSituation {
    const { promptless } = base;
    return promptless
      ? { interactive: false, reason: promptless }
      : loginSituation(this.#client.interaction.env);
  }

  /**
   * Logs in (nothing is stored), or throws `OIDC_LOGIN_REQUIRED` when nobody can; its `detail`
   * is `{ reason, command, sessionEnded }` for programs that word their own message.
   * @param sessionEnded the server refused the refresh token (the session is over)
   */
  async login(signal: AbortSignal, sessionEnded = false, trace?: TraceContext): Promise<Token> {
    const { dialect } = this.#client;
    if (dialect.serviceGrant) {
      if (trace) trace.grant = 'client_credentials';
      return this.#serviceToken(dialect.serviceGrant, signal);
    }
    const verdict = this.deviceLogin();
    // Nobody can see a device code, but the program shows login URLs itself: a browser login.
    if (
      !verdict.allowed &&
      this.#client.interaction.onAuthorizationUrl &&
      this.browserLogin().allowed
    ) {
      if (trace) trace.grant = 'authorization_code';
      return runCodeFlow(this.#client, { signal });
    }
    if (!verdict.allowed) {
      if (trace) trace.outcome = 'login-required';
      const command = dialect.loginHint;
      const { reason } = verdict;
      this.#events.emit('loginRequired', { host: dialect.storeKey, reason, command });
      const what = sessionEnded
        ? `The session for ${dialect.storeKey} ended: the server refused the refresh token. Log in again`
        : `No valid token for ${dialect.storeKey}. Log in`;
      // `oidc-auth login` writes the token file: it helps only a manager whose store is that file.
      const where = services.loginAdvice(command, this.#sharedFile);
      throw new AuthError(
        ErrorCode.LOGIN_REQUIRED,
        `${what}: ${reason}, so ${where}, or pass onDeviceCode / interactive: true to log in from this program (onAuthorizationUrl: by a browser).`,
        { detail: { reason, command, sessionEnded } },
      );
    }
    let code: DeviceCode | undefined;
    if (trace) trace.grant = 'device_code';
    try {
      code = await this.#device.getDeviceCode({ signal });
    } catch (error) {
      // A server that cannot do the device flow: a person at a browser can still log in.
      if (!cannotDoDeviceFlow(error)) throw error;
      const browser = this.browserLogin();
      if (!browser.allowed) throw this.#noWayIn(error as AuthError, browser.reason);
    }
    if (!code && trace) trace.grant = 'authorization_code';
    return code ? this.#device.complete(code, { signal }) : runCodeFlow(this.#client, { signal });
  }

  /** No device flow at the server and no browser here: one message naming both ways in. */
  #noWayIn(error: AuthError, reason: string): AuthError {
    const { dialect } = this.#client;
    const command = dialect.loginHint;
    const why = error.message
      .replace(
        /[;,] or log in with the browser flow\.$|; log in with the browser flow instead\.$/,
        '',
      )
      .replace(/\.$/, '');
    return new AuthError(
      ErrorCode.DEVICE_FLOW_UNSUPPORTED,
      `${why}, and no browser login can start here (${reason}). Either pass onAuthorizationUrl to show the login URL your own way (a browser login), or log in where a browser opens: ${command}.`,
      {
        ...(error.status ? { status: error.status } : {}),
        detail: { reason, command },
        cause: error,
      },
    );
  }

  /** A service account's token: the client's own credentials, no person involved. */
  async #serviceToken(grant: Grant, signal: AbortSignal): Promise<Token> {
    const { dialect, http, clock } = this.#client;
    const metadata = await this.#client.metadata(signal);
    const key = dialect.dpop ? await loginKey() : undefined;
    const token = await send(
      http,
      { ...dialect.tokenRequest(grant, metadata), dpop: key },
      (answer) => {
        const error = answer.status === 200 ? undefined : parseOAuthErrorJson(answer.json);
        if (error === 'invalid_client' || error === 'unauthorized_client') {
          throw new AuthError(
            ErrorCode.SERVER_ERROR,
            `${dialect.storeKey} refused the service account's credentials (${error}); check tokenEndpointAuthMethod too.`,
            { status: answer.status, detail: errorDetail(answer) },
          );
        }
        return parseTokenAnswer(answer, clock() / 1000, 'service-account token');
      },
      { signal },
    );
    return bindToken(token, key, dialect.storeKey, true);
  }
}
