/** How the command shows times: local time with a relative hint, or ISO 8601 for --json. */

const units: ReadonlyArray<readonly [number, string]> = [
  [86_400, 'day'],
  [3_600, 'h'],
  [60, 'min'],
  [1, 's'],
];

/** "in 4 min", "3 h ago", "in 2 days". */
export function relative(seconds: number, now = Date.now() / 1000): string {
  const delta = Math.round(seconds - now);
  const size = Math.abs(delta);
  const [unit, name] = units.find(([u]) => size >= u) ?? [1, 's'];
  const count = Math.floor(size / unit);
  const label = name === 'day' ? (count === 1 ? 'day' : 'days') : name;
  return delta >= 0 ? `in ${count} ${label}` : `${count} ${label} ago`;
}

/** A Unix time in the user's local time, e.g. "27/11/2026, 14:03:00 (in 4 min)". */
export function localTime(seconds: number, now = Date.now() / 1000): string {
  return `${new Date(seconds * 1000).toLocaleString()} (${relative(seconds, now)})`;
}

/** A Unix time as ISO 8601 (UTC). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
