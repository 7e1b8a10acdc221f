import { createServer, type Server } from 'node:http';
import { AuthError, ErrorCode } from '../errors.js';

/** The ports py-oidc-auth servers register for the browser flow (53100–53105). */
export const defaultLoopbackPorts = [53100, 53101, 53102, 53103, 53104, 53105] as const;

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A one-shot HTTP listener on loopback for the authorization-code callback. */
export interface LoopbackListener {
  readonly port: number;
  /** `http://localhost:<port>/callback` */
  readonly redirectUri: string;
  /** Resolves with the first callback's query parameters (one with `code` or `error`). */
  wait(options: { signal?: AbortSignal; timeoutMs: number }): Promise<URLSearchParams>;
  close(): void;
}

/**
 * Listens on the first free port of `ports`, on loopback addresses only (127.0.0.1, and ::1
 * when the machine has it), for one GET of exactly `/callback`.
 */
export async function listenOnLoopback(
  ports: readonly number[] = defaultLoopbackPorts,
): Promise<LoopbackListener> {
  let deliver: ((params: URLSearchParams) => void) | undefined;
  const received = new Promise<URLSearchParams>((resolve) => {
    deliver = resolve;
  });
  let done = false;
  const handler = (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params = url.searchParams;
    if (
      req.method !== 'GET' ||
      url.pathname !== '/callback' ||
      done ||
      !(params.has('code') || params.has('error'))
    ) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Not found', 'This address only takes the login callback.'));
      return;
    }
    done = true;
    const failed = params.has('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
    res.end(
      failed
        ? page('Login failed', 'The login did not complete. Return to your terminal.')
        : page('Login complete', 'You can close this window and return to your terminal.'),
    );
    deliver?.(params);
  };
  const v4 = createServer(handler);
  let chosen: number | undefined;
  for (const port of ports) {
    try {
      await listen(v4, port, '127.0.0.1');
      chosen = port;
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  if (chosen === undefined) {
    throw new AuthError(
      ErrorCode.INVALID_OPTIONS,
      `Ports ${ports.join(', ')} are all in use on 127.0.0.1, so the browser login has nowhere to return. Free one of them.`,
    );
  }
  // Browsers may resolve localhost to ::1 first: listen there too when possible.
  const v6 = createServer(handler);
  await listen(v6, chosen, '::1').catch(() => undefined);
  const close = () => {
    for (const server of [v4, v6]) {
      if (server.listening) {
        server.close();
        server.closeAllConnections();
      }
    }
  };
  const port = chosen;
  return {
    port,
    redirectUri: `http://localhost:${port}/callback`,
    close,
    wait: ({ signal, timeoutMs }) =>
      new Promise<URLSearchParams>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new AuthError(
              ErrorCode.TIMEOUT,
              `The browser login did not return within ${Math.round(timeoutMs / 1000)} s. Run it again.`,
            ),
          );
        }, timeoutMs);
        const onAbort = () => {
          cleanup();
          reject(signal?.reason);
        };
        const cleanup = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        received.then((params) => {
          cleanup();
          resolve(params);
        });
      }),
  };
}
