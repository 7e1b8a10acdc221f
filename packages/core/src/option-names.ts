import { AuthError, ErrorCode } from './errors.js';
import { printable } from './urls.js';

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The option most likely meant by `name`: a named hint, its camelCase, its case, or a near miss. */
function meantBy(
  name: string,
  known: readonly string[],
  hints: Readonly<Record<string, string>>,
): string | undefined {
  const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const lower = name.toLowerCase();
  if (hints[name]) return hints[name];
  if (known.includes(camel)) return camel;
  return (
    known.find((k) => k.toLowerCase() === lower) ??
    known
      .map((k) => ({ k, d: distance(k.toLowerCase(), lower) }))
      .filter(({ d }) => d <= Math.max(1, Math.floor(name.length / 4)))
      .sort((x, y) => x.d - y.d)[0]?.k
  );
}

/**
 * Throws `OIDC_INVALID_OPTIONS` for an option that is not in `known`, naming the one probably
 * meant: a mistyped or Python-style option must never be silently ignored (the token would go
 * to the default file, the login wait would be the default). Options set to `undefined` pass.
 * Exported for stores and adapters built on core (the Redis store uses it).
 *
 * @example refuseUnknownOptions(options, ['client', 'namespace'], 'MyTokenStore');
 */
export function refuseUnknownOptions(
  options: object,
  known: readonly string[],
  where: string,
  hints: Readonly<Record<string, string>> = {},
  consequence = 'It would be ignored, so it is refused.',
): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || known.includes(name)) continue;
    const meant = meantBy(name, known, hints);
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `Unknown option "${printable(name)}" in ${where}${meant ? `: did you mean ${meant}?` : '.'} ${consequence}`,
    );
  }
}
