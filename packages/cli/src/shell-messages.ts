import { type AuthError, ErrorCode } from '@oidc-auth/core';

/** Whether a host name resolves; undefined when the resolver cannot say within 3 s. */
async function resolves(hostname: string): Promise<boolean | undefined> {
  const { lookup } = await import('node:dns/promises');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, 3000, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([
      lookup(hostname).then(
        () => true,
        (error: NodeJS.ErrnoException) =>
          error.code === 'ENOTFOUND' || error.code === 'EAI_NONAME' ? false : undefined,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** "did you mean localhost?" for `localhsot`, `locahost`, `loclahost`. */
function likelyLocalhost(hostname: string): string {
  const a = hostname.toLowerCase();
  const b = 'localhost';
  if (a === b || Math.abs(a.length - b.length) > 2) return '';
  const sorted = (text: string) => [...text].sort().join('');
  const near = sorted(a) === sorted(b) || [...b].filter((c, i) => a[i] !== c).length <= 2;
  return near ? ' (did you mean localhost?)' : '';
}

/**
 * A command of ours as a user can run it where they are: `npx --no -- oidc-auth …` finds the
 * installed CLI, local or global (a bare `oidc-auth` is on PATH only when installed globally).
 */
export function runnable(command: string): string {
  return command.startsWith('oidc-auth ') ? `npx --no -- ${command}` : command;
}

/** Messages for shell users: what happened and the command to run, never library advice. */
export async function forShell(error: AuthError): Promise<string> {
  const detail = error.detail as
    | {
        reason?: string;
        command?: string;
        sessionEnded?: boolean;
        insecureUrl?: string;
        hostname?: string;
        code?: string;
      }
    | undefined;
  if (error.code === ErrorCode.LOGIN_REQUIRED && detail?.command) {
    return detail.sessionEnded
      ? `The session ended: the server refused the refresh token. Log in again: ${runnable(detail.command)}`
      : `No valid login, and ${detail.reason ?? 'no terminal to log in from'}. Log in first: ${runnable(detail.command)}`;
  }
  if (detail?.insecureUrl && detail.hostname) {
    // A misspelt name first: allowing plain http to a host that does not exist helps nobody.
    if ((await resolves(detail.hostname)) === false) {
      return `The host "${detail.hostname}" does not exist${likelyLocalhost(detail.hostname)}: check the host name.`;
    }
    return `The server ${detail.insecureUrl} is not https: tokens would travel in clear text. Use https, or pass --allow-insecure-http (or set OIDC_ALLOW_INSECURE_HTTP=1) for a server you trust on a private network.`;
  }
  if (detail?.code === 'ENOTFOUND' && detail.hostname) {
    return `${error.message.replace(/\.$/, '')}${likelyLocalhost(detail.hostname)}.`;
  }
  return error.message;
}
