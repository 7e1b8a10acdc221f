import { diagnosticsChannels, publish } from '../diagnostics.js';
import type { Emitter, TokenManagerEvents } from './events.js';

/** At most this many origins are reported per manager: a page calling many APIs stays bounded. */
const reportedAtMost = 64;

/**
 * A 401 from an origin the adapter sends no token to: rightly no token went there, but the
 * user's configuration is often what is wrong (a host without its scheme, another port). Says
 * so once per origin: the `unservedOrigin` event and the `oidc-auth:unserved-origin` channel.
 */
export class UnservedOrigins {
  readonly #reported = new Set<string>();

  constructor(
    private readonly host: string,
    private readonly events: Emitter<TokenManagerEvents>,
  ) {}

  note(url: string | URL, served: readonly string[]): void {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return;
    }
    if (this.#reported.has(origin) || this.#reported.size >= reportedAtMost) return;
    this.#reported.add(origin);
    const event = {
      host: this.host,
      origin,
      served: [...served],
      hint: `${origin} answered 401 to a request sent without a token: the token goes only to ${served.join(', ')}. If ${origin} is your API, add it to the adapter's origins, or check the scheme and port of the host you gave.`,
    };
    this.events.emit('unservedOrigin', event);
    publish(diagnosticsChannels.unservedOrigin, () => event);
  }
}
