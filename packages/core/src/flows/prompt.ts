import { spawn } from 'node:child_process';
/** What a device login shows the user. Passed to `onDeviceCode`. */
export interface DeviceCodeEvent {
  /** The server or issuer being logged in to. */
  host: string;
  /** Where to go: the complete URI (code filled in) when the server sent one. */
  uri: string;
  /** The plain verification URI, to show next to `userCode`. */
  verificationUri: string;
  /** The code to enter. */
  userCode: string;
  /** When the code stops working. */
  expiresAt: Date;
  /** Aborted when the login ends (approved, denied, expired, cancelled): stop spinners here. */
  signal: AbortSignal;
}

/** What a browser login shows the user. Passed to `onAuthorizationUrl`. */
export interface AuthorizationUrlEvent {
  /** The server or issuer being logged in to. */
  host: string;
  /** The URL to open in a browser. */
  url: string;
  /** Where the browser comes back: `http://localhost:<port>/callback`. */
  redirectUri: string;
  /** Aborted when the login ends. */
  signal: AbortSignal;
}

/** Opens a URL in the user's browser (`$BROWSER` wins); failures are ignored. */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): void {
  const [command, args] = env.BROWSER
    ? [env.BROWSER, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No browser here: the URL is printed anyway.
  }
}

/** The default `onAuthorizationUrl`: prints the URL to stderr and opens the browser. */
export function openAuthorizationUrl(event: AuthorizationUrlEvent): void {
  process.stderr.write(
    `To log in to ${event.host}, open in a browser on this machine:\n  ${event.url}\n`,
  );
  openBrowser(event.url);
}

/**
 * The default `onDeviceCode`: writes the URI, the code and the expiry to stderr. (The
 * `oidc-auth` command draws a QR code and a spinner; a library writes plain lines.)
 */
export function writeDeviceCodeToStderr(
  event: DeviceCodeEvent,
  stream: NodeJS.WritableStream = process.stderr,
): void {
  const minutes = Math.max(1, Math.round((event.expiresAt.getTime() - Date.now()) / 60_000));
  const lines = [`To log in to ${event.host}, open`, `  ${event.uri}`];
  if (event.uri !== event.verificationUri || !event.uri.includes(event.userCode)) {
    lines.push(`and enter the code ${event.userCode}`);
  } else {
    lines.push(`and check that it shows the code ${event.userCode}`);
  }
  lines.push(`(the code expires in ${minutes} min).`);
  stream.write(`${lines.join('\n')}\n`);
}
