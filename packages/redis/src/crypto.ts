import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AuthError, ErrorCode } from '@oidc-auth/core';

/**
 * A key for encryption at rest: 32 random bytes (AES-256-GCM), with an id stored next to each
 * ciphertext so keys can be rotated. Make one with `openssl rand -base64 32`.
 */
export interface EncryptionKey {
  /** Names the key in stored entries: letters, digits, `_` and `-`, at most 64. */
  id: string;
  /** The 32 bytes, or their base64 text. */
  key: Uint8Array | string;
}

const prefix = 'oidc-auth.aes256gcm.v1';

/** Encrypts with the first key; decrypts with whichever key an entry names. */
export class Sealer {
  readonly #keys: Map<string, Uint8Array>;
  readonly #current: string;

  constructor(keys: readonly EncryptionKey[]) {
    if (keys.length === 0) {
      throw new AuthError(ErrorCode.INVALID_OPTIONS, 'encryptionKey needs at least one key.');
    }
    this.#keys = new Map();
    for (const { id, key } of keys) {
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          'encryptionKey id must be 1 to 64 letters, digits, "_" or "-", e.g. "2026-11".',
        );
      }
      if (this.#keys.has(id)) {
        throw new AuthError(ErrorCode.INVALID_OPTIONS, `encryptionKey id "${id}" appears twice.`);
      }
      const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
      if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
        throw new AuthError(
          ErrorCode.INVALID_OPTIONS,
          `encryptionKey "${id}" must be 32 bytes (AES-256), or their base64 text: make one with \`openssl rand -base64 32\`.`,
        );
      }
      this.#keys.set(id, Uint8Array.from(bytes));
    }
    this.#current = (keys[0] as EncryptionKey).id;
  }

  /** `aad` binds the ciphertext to its place (the host's key): an entry moved elsewhere fails. */
  seal(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#current) as Uint8Array, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${prefix}.${this.#current}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** The plain text; throws a STORE_ERROR that says which key is missing or wrong. */
  open(sealed: string, aad: string, where: string): string {
    const [, keyId, iv, body] = /^oidc-auth\.aes256gcm\.v1\.([^.]+)\.([^.]+)\.([^.]+)$/.exec(
      sealed,
    ) ?? [undefined, undefined, undefined, undefined];
    if (!keyId || !iv || !body) {
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `The token store entry for ${where} is not encrypted, but this store was given encryptionKey: it was written by a store without one.`,
      );
    }
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `The token store entry for ${where} is encrypted with key "${keyId}", which this store was not given: add that key to encryptionKey (after the current one). The entry was left as it is.`,
      );
    }
    try {
      const bytes = Buffer.from(body, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - 16)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new AuthError(
        ErrorCode.STORE_ERROR,
        `The token store entry for ${where} does not decrypt with key "${keyId}": another key has that id, or the entry was altered. The entry was left as it is; check the key, or log in again to replace the entry.`,
      );
    }
  }

  static isSealed(text: string): boolean {
    return text.startsWith(`${prefix}.`);
  }
}
