import { randomUUID } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** One notice: which session changed, and a mark unique to this write. */
interface Notice {
  host: string;
  mark: string;
}

/**
 * Change notices between processes sharing a keychain, which tells nobody of a change: after
 * each write a small file names the session that changed (never a token), replaced atomically;
 * listeners watch its folder and hear each new mark once. A notice only spares a process a wait
 * (it adopts the new token at once); the lock, not the notice, keeps refreshes apart.
 */
export class ChangeNotices {
  readonly #path: string;
  /** The marks this object wrote: a store object does not tell itself. */
  readonly #own = new Set<string>();

  constructor(path: string) {
    this.#path = path;
  }

  async write(host: string): Promise<void> {
    const notice: Notice = { host, mark: randomUUID() };
    this.#own.add(notice.mark);
    if (this.#own.size > 64) this.#own.delete(this.#own.values().next().value as string);
    const folder = dirname(this.#path);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const temporary = `${this.#path}.${notice.mark}.tmp`;
    await writeFile(temporary, JSON.stringify(notice), { mode: 0o600 });
    await rename(temporary, this.#path);
  }

  async #read(): Promise<Notice | undefined> {
    try {
      const notice = JSON.parse(await readFile(this.#path, 'utf8')) as Partial<Notice>;
      return typeof notice.host === 'string' && typeof notice.mark === 'string'
        ? (notice as Notice)
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Calls `heard(host)` for each new notice another store object wrote; returns the stop. */
  listen(heard: (host: string) => void): () => void {
    const folder = dirname(this.#path);
    const name = basename(this.#path);
    let last: string | undefined;
    let watcher: FSWatcher | undefined;
    let stopped = false;
    const check = async () => {
      const notice = await this.#read();
      if (stopped || !notice || notice.mark === last) return;
      last = notice.mark;
      if (!this.#own.has(notice.mark)) heard(notice.host);
    };
    void (async () => {
      await mkdir(folder, { recursive: true, mode: 0o700 }).catch(() => undefined);
      last = (await this.#read())?.mark;
      if (stopped) return;
      try {
        watcher = watch(folder, { persistent: false }, (_, file) => {
          if (file === null || file === name) void check();
        });
        watcher.on('error', () => watcher?.close());
      } catch {
        // No watch here (a full inotify table): notices are missed, the lock still holds.
      }
    })();
    return () => {
      stopped = true;
      watcher?.close();
    };
  }
}
