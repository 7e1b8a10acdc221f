import { AuthError, ErrorCode } from '../errors.js';

/** The object stores of the database core keeps in IndexedDB. */
export type IdbTable = 'tokens' | 'keys';

const databases = new Map<string, Promise<IDBDatabase>>();

function failed(what: string, cause: unknown): AuthError {
  return new AuthError(
    ErrorCode.STORE_ERROR,
    `IndexedDB failed while ${what}: the browser may be in a private mode without storage, or the site's storage is full or blocked. Use the memory store there.`,
    { cause },
  );
}

/** The database, opened once per page and name (version 1: `tokens`, `keys`). */
export function openDatabase(name: string): Promise<IDBDatabase> {
  let db = databases.get(name);
  if (!db) {
    db = new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') {
        reject(failed('opening', new Error('indexedDB is not defined here')));
        return;
      }
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore('tokens');
        request.result.createObjectStore('keys');
      };
      request.onsuccess = () => {
        const opened = request.result;
        // Another tab upgrading the database: let it, and open again on next use.
        opened.onversionchange = () => {
          opened.close();
          databases.delete(name);
        };
        resolve(opened);
      };
      request.onerror = () => reject(failed('opening', request.error));
    });
    db.catch(() => databases.delete(name));
    databases.set(name, db);
  }
  return db;
}

/** One request in its own transaction; resolves when the transaction has committed. */
export async function idb<T>(
  name: string,
  table: IdbTable,
  mode: IDBTransactionMode,
  what: string,
  run: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDatabase(name);
  return new Promise<T>((resolve, reject) => {
    let result: T;
    let tx: IDBTransaction;
    try {
      tx = db.transaction(table, mode);
      const request = run(tx.objectStore(table));
      request.onsuccess = () => {
        result = request.result;
      };
    } catch (error) {
      reject(failed(what, error));
      return;
    }
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(failed(what, tx.error));
    tx.onabort = () => reject(failed(what, tx.error));
  });
}
