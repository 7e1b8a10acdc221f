/** What a redacted header shows. */
const redacted = '[REDACTED]';
/** The two headers that carry what a token is worth. */
export const secretHeader = /^(authorization|dpop)$/i;

/** Blanks our two headers wherever a client keeps a copy of what it sent. */
export function redactSent(sent: unknown): void {
  if (typeof sent !== 'object' || sent === null) return;
  if (typeof Request !== 'undefined' && sent instanceof Request) return redactSent(sent.headers);
  const record = sent as Record<string | symbol, unknown>;
  if (typeof (sent as Headers).set === 'function' && typeof (sent as Headers).has === 'function') {
    // fetch Headers, axios' AxiosHeaders.
    for (const name of ['authorization', 'dpop']) {
      try {
        if ((sent as Headers).has(name)) (sent as Headers).set(name, redacted);
      } catch {
        // Immutable headers (a Response's): nothing of ours is kept there.
      }
    }
  }
  if (typeof (sent as { getHeader?: unknown }).getHeader === 'function') {
    redactClientRequest(record);
    return;
  }
  for (const name of Object.keys(record)) {
    if (secretHeader.test(name) && typeof record[name] === 'string') record[name] = redacted;
  }
}

/** A Node ClientRequest: the header block it wrote, and its header map. */
function redactClientRequest(record: Record<string | symbol, unknown>): void {
  if (typeof record._header === 'string') {
    record._header = (record._header as string).replace(
      /^(authorization|dpop):[^\r\n]*/gim,
      `$1: ${redacted}`,
    );
  }
  for (const symbol of Object.getOwnPropertySymbols(record)) {
    const map = record[symbol];
    if (symbol.description !== 'kOutHeaders' || typeof map !== 'object' || map === null) continue;
    for (const name of ['authorization', 'dpop']) {
      const entry = (map as Record<string, [string, unknown]>)[name];
      if (entry) entry[1] = redacted;
    }
  }
}
