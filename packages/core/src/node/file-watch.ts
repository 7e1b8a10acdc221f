import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/**
 * Watches a token file for entries other processes change (a refresh, a logout): calls
 * `changed(key)` for each entry that differs from the last read. The folder is watched (the
 * file is replaced by a rename on every write), without keeping the process alive. Where the
 * OS cannot watch (some network file systems), nothing is called: other processes then learn
 * of a change at their next refresh, under the lock. Returns the function that stops it.
 */
export function watchEntries(path: string, changed: (key: string) => void): () => void {
  let last: Map<string, string> | undefined;
  let reading: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const snapshot = async () => {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      // Gone, unreadable, corrupt (and being moved aside) or mid-write by another tool: no
      // entry was removed on purpose, so nobody is told to drop a token.
      return;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
    const next = new Map(Object.entries(raw).map(([key, entry]) => [key, JSON.stringify(entry)]));
    const before = last;
    last = next;
    if (!before || stopped) return;
    for (const key of new Set([...before.keys(), ...next.keys()])) {
      if (before.get(key) !== next.get(key)) changed(key);
    }
  };
  // One read at a time, and one more for every burst of events that came meanwhile.
  const check = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = snapshot().finally(() => {
      reading = undefined;
      if (again && !stopped) {
        again = false;
        check();
      }
    });
  };
  check();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name === null || String(name) === basename(path)) check();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // No watching here (the folder is missing, or the OS cannot): see above.
  }
  return () => {
    stopped = true;
    watcher?.close();
  };
}
