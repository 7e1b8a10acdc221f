import type { Environment, TextSink } from '../env.js';
import { nodeChildProcess } from '../platform/node-builtins.js';

/** Starts a program detached, as `child_process.spawn` does. */
export type Spawn = (
  command: string,
  args: string[],
  options: { detached: boolean; stdio: 'ignore'; shell: false },
) => { on(event: 'error', listener: () => void): unknown; unref(): void };

import type { AuthorizationUrlEvent, DeviceCodeEvent } from '../options.js';
import { isSecureUrl, printable } from '../urls.js';

/**
 * Opens a URL in the user's browser (`$BROWSER` wins); returns false when it did not try.
 * Only https URLs, or http ones on a loopback host, are opened. The URL is passed as one
 * argument and never through a shell (on Windows `rundll32 url.dll,FileProtocolHandler`, not
 * `cmd /c start`, which would read `&` as a command separator). Failures are ignored: the URL
 * is printed anyway.
 */
export function openBrowser(
  url: string,
  env: Environment = process.env,
  platform: string = process.platform,
  spawn: Spawn = (...args) => nodeChildProcess().spawn(...args),
): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (!isSecureUrl(parsed)) return false;
  const [command, args]: [string, string[]] = env.BROWSER
    ? [env.BROWSER, [parsed.href]]
    : platform === 'darwin'
      ? ['open', [parsed.href]]
      : platform === 'win32'
        ? ['rundll32', ['url.dll,FileProtocolHandler', parsed.href]]
        : ['xdg-open', [parsed.href]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', shell: false });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** The default `onAuthorizationUrl`: prints the URL to stderr and opens the browser. */
export function openAuthorizationUrl(event: AuthorizationUrlEvent): void {
  process.stderr.write(
    `To log in to ${printable(event.host)}, open in a browser on this machine:\n  ${printable(event.url)}\n`,
  );
  openBrowser(event.url);
}

/**
 * The default `onDeviceCode`: writes the URI, the code and the expiry to stderr. (The
 * `oidc-auth` command draws a QR code and a spinner; a library writes plain lines.)
 */
export function writeDeviceCodeToStderr(
  event: DeviceCodeEvent,
  stream: TextSink = process.stderr,
): void {
  const minutes = Math.max(1, Math.round((event.expiresAt.getTime() - Date.now()) / 60_000));
  const [host, uri, code] = [
    printable(event.host),
    printable(event.uri),
    printable(event.userCode),
  ];
  const lines = [`To log in to ${host}, open`, `  ${uri}`];
  if (event.uri !== event.verificationUri || !event.uri.includes(event.userCode)) {
    lines.push(`and enter the code ${code}`);
  } else {
    lines.push(`and check that it shows the code ${code}`);
  }
  lines.push(`(the code expires in ${minutes} min).`);
  stream.write(`${lines.join('\n')}\n`);
}
