/**
 * A QR code for a terminal, two rows of modules per line in half blocks. Light modules (and
 * the quiet zone) are drawn, dark ones left blank: on a terminal's dark background that reads
 * as dark on light, as a scanner wants. qrcode-generator has no dependencies and no command,
 * so installing the CLI puts nothing else on the user's PATH; it is loaded only when a login
 * shows its prompt on a terminal.
 */
export async function terminalQr(text: string, quiet = 2): Promise<string> {
  const { default: qrcode } = await import('qrcode-generator');
  const qr = qrcode(0, 'L');
  qr.addData(text);
  qr.make();
  const size = qr.getModuleCount();
  const light = (row: number, col: number) =>
    row < 0 || col < 0 || row >= size || col >= size || !qr.isDark(row, col);
  const lines: string[] = [];
  for (let row = -quiet; row < size + quiet; row += 2) {
    let line = '';
    for (let col = -quiet; col < size + quiet; col++) {
      const top = light(row, col);
      const bottom = row + 1 < size + quiet && light(row + 1, col);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}
