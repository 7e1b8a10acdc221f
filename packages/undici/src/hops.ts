/** How long a foreign redirect's target stays marked: undici's fetch follows at once. */
const markedFor = 10_000;
/** At most this many targets marked at once (the oldest forgotten first). */
const mostMarked = 256;

/**
 * Which hops of a request may carry ours, decided from URLs alone: a request that started on a
 * URL not allowed, or passed through one, gains nothing on a later hop (a foreign server chose
 * where it goes).
 *
 * Two kinds of redirect reach an interceptor: undici's redirect interceptor (composed after ours)
 * dispatches every hop with the same handler, so a request's hops are known by their handler;
 * fetch follows a redirect with a new dispatch that nothing links to the one before, so the
 * target of a foreign hop's redirect to an allowed URL is marked, and the next dispatch to that
 * very URL (soon after) is sent as it is. One interceptor's marks are its own.
 */
export class Hops {
  readonly #allows: (url: string) => boolean;
  readonly #clock: () => number;
  /** The handlers of requests a hop of which was not allowed (kept only for those). */
  readonly #foreign = new WeakSet<object>();
  /** Allowed URLs a foreign hop redirected to: how many times, and until when. */
  readonly #marked = new Map<string, { count: number; until: number }>();

  constructor(allows: (url: string) => boolean, clock: () => number = Date.now) {
    this.#allows = allows;
    this.#clock = clock;
  }

  /**
   * May this hop of the request `handler` sends carry ours? Called once per dispatch; a hop not
   * `eligible` (it carries the caller's own credential) carries nothing, and is watched as foreign.
   */
  mayCarry(handler: object, url: string, eligible: boolean): boolean {
    const allowed = this.#allows(url) && !this.#take(url) && eligible;
    if (allowed) return !this.#foreign.has(handler);
    this.#foreign.add(handler);
    return false;
  }

  /** A hop that carried nothing of ours answered a redirect: mark an allowed target. */
  foreignRedirect(from: string, location: string | undefined): void {
    if (location === undefined) return;
    let target: URL;
    try {
      target = new URL(location, from);
    } catch {
      return;
    }
    target.hash = '';
    if (!/^https?:$/.test(target.protocol) || !this.#allows(target.href)) return;
    const href = target.href;
    const until = this.#clock() + markedFor;
    const mark = this.#marked.get(href);
    this.#marked.delete(href);
    this.#marked.set(href, { count: (mark?.count ?? 0) + 1, until });
    if (this.#marked.size > mostMarked) {
      this.#marked.delete(this.#marked.keys().next().value as string);
    }
  }

  /** Is `url` marked (then one mark is spent)? */
  #take(url: string): boolean {
    if (this.#marked.size === 0) return false;
    let href: string;
    try {
      href = new URL(url).href;
    } catch {
      return false;
    }
    const mark = this.#marked.get(href);
    if (!mark) return false;
    if (--mark.count === 0) this.#marked.delete(href);
    return mark.until > this.#clock();
  }
}
