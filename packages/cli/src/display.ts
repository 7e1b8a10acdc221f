import {
  type DeviceCodeEvent,
  type Environment,
  openBrowser,
  printable,
  type TextSink,
} from '@oidc-auth/core';
import { terminalQr } from './qr.js';

/** A stream the command writes to: `process.stdout` or `process.stderr`, or a test's stand-in. */
export interface Output extends TextSink {
  /** True on a terminal: colours, QR code, spinner. */
  isTTY?: boolean;
}

export interface Terminal {
  stream: Output;
  /** Colours and cursor tricks allowed (a TTY, and NO_COLOR unset). */
  color: boolean;
  interactive: boolean;
}

export function terminal(stream: Output, env: Environment): Terminal {
  const tty = Boolean(stream.isTTY);
  return { stream, color: tty && !('NO_COLOR' in env), interactive: tty };
}

export function bold(t: Terminal, text: string): string {
  return t.color ? `\x1b[1m${text}\x1b[22m` : text;
}

function formatLeft(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

const frames: readonly string[] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The login prompt: URI, user code, a QR code of the complete URI and a spinner with the time
 * left when the terminal is interactive; plain lines otherwise.
 */
export async function showDeviceCode(
  event: DeviceCodeEvent,
  t: Terminal,
  options: { browser: boolean; env: Environment },
): Promise<void> {
  const out = t.stream;
  // Server-sent text: no escape sequence reaches the terminal.
  const [host, uri, userCode] = [
    printable(event.host),
    printable(event.uri),
    printable(event.userCode),
  ];
  out.write(`To log in to ${host}, open\n\n  ${bold(t, uri)}\n\n`);
  out.write(`and enter the code ${bold(t, userCode)}\n`);
  if (!t.interactive) {
    out.write(`(the code expires at ${event.expiresAt.toLocaleString()})\n`);
    return;
  }
  if (uri.includes(userCode)) {
    out.write(`\nor scan:\n${await terminalQr(uri)}\n`);
  }
  if (options.browser) openBrowser(event.uri, options.env);
  let frame = 0;
  const draw = () => {
    const left = formatLeft(event.expiresAt.getTime() - Date.now());
    out.write(`\r${frames[frame++ % frames.length]} Waiting for approval… ${left} left `);
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  event.signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      out.write('\r\x1b[K');
    },
    { once: true },
  );
}
