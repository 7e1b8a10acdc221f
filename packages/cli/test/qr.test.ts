import qrcode from 'qrcode-generator';
import { describe, expect, it } from 'vitest';
import { terminalQr } from '../src/qr.js';

describe('the terminal QR code', () => {
  it('draws every module of the code, two rows a line, light ones as blocks, in a quiet zone', async () => {
    const text = 'http://127.0.0.1:53100/device?user_code=BCDF-GHJK';
    const drawn = (await terminalQr(text, 2)).trimEnd().split('\n');
    const qr = qrcode(0, 'L');
    qr.addData(text);
    qr.make();
    const size = qr.getModuleCount();
    const width = size + 4;
    expect(drawn).toHaveLength(Math.ceil(width / 2));
    const halves: Record<string, [boolean, boolean]> = {
      '█': [true, true],
      '▀': [true, false],
      '▄': [false, true],
      ' ': [false, false],
    };
    for (let row = -2; row < size + 2; row++) {
      const line = [...(drawn[Math.floor((row + 2) / 2)] ?? '')];
      expect(line).toHaveLength(width);
      for (let col = -2; col < size + 2; col++) {
        const inside = row >= 0 && col >= 0 && row < size && col < size;
        const light = !inside || !qr.isDark(row, col);
        const [top, bottom] = halves[line[col + 2] ?? '?'] ?? [undefined, undefined];
        expect((row + 2) % 2 === 0 ? top : bottom).toBe(light);
      }
    }
  });
});
