import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64, base64url, fromBase64, fromUtf8, sha256, utf8 } from '../src/encoding.js';

describe('encodings on Web APIs (no Buffer in core)', () => {
  it('base64 and base64url agree with Node for every length and tail, and round-trip', () => {
    for (let length = 0; length < 300; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(base64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect([...fromBase64(base64url(bytes))]).toEqual([...bytes]);
      expect([...fromBase64(base64(bytes))]).toEqual([...bytes]);
    }
    const text = 'héllo ✓ 𝄞';
    expect(base64(text)).toBe(Buffer.from(text).toString('base64'));
    expect(fromUtf8(utf8(text))).toBe(text);
    expect(fromUtf8([utf8('hé'), utf8('llo')])).toBe('héllo');
  });

  it('sha256 is base64url(SHA-256(UTF-8)), as node:crypto makes a PKCE challenge', async () => {
    for (const text of ['', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk', 'héllo ✓']) {
      expect(await sha256(text)).toBe(createHash('sha256').update(text).digest('base64url'));
    }
  });
});
