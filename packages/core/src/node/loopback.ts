import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AuthError, ErrorCode } from '../errors.js';
import { defaultLoopbackPorts } from '../options.js';
import type { LoopbackListener } from '../platform-services.js';

export type { LoopbackListener };
export { defaultLoopbackPorts };

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

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function stop(server: Server): void {
  if (server.listening) {
    server.close();
    server.closeAllConnections();
  }
}

/**
 * Servers listening on the first port of `ports` that is free on 127.0.0.1 and (where the
 * machine has it) ::1: one taken on either address by someone else is skipped.
 */
async function firstFreePort(
  make: () => Server,
  ports: readonly number[],
): Promise<{ servers: Server[]; port: number }> {
  for (const port of ports) {
    const v4 = make();
    try {
      await listen(v4, port, '127.0.0.1');
    } catch (error) {
      if (errno(error) === 'EADDRINUSE') continue;
      throw error;
    }
    const v6 = make();
    try {
      await listen(v6, port, '::1');
      return { servers: [v4, v6], port };
    } catch (error) {
      const code = errno(error);
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
        stop(v4);
        if (code === 'EADDRINUSE') continue;
        throw error;
      }
      // No IPv6 loopback on this machine: nobody can listen there either.
      return { servers: [v4], port };
    }
  }
  throw new AuthError(
    ErrorCode.INVALID_OPTIONS,
    `Ports ${ports.join(', ')} are all in use on 127.0.0.1 or ::1, so the browser login has nowhere to return. Free one of them.`,
  );
}

/**
 * Listens on the first port of `ports` that is free on every loopback address we serve
 * (127.0.0.1, and ::1 when the machine has IPv6), for GETs of exactly `/callback`. A port that
 * another program holds on either address is skipped: a browser resolving `localhost` to ::1
 * must never reach someone else's listener.
 */
export async function listenOnLoopback(
  ports: readonly number[] = defaultLoopbackPorts,
): Promise<LoopbackListener> {
  // node:http is loaded only when a browser login needs the listener, not at start-up.
  const { createServer } = await import('node:http');
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/callback' || !handle) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Not found', 'This address only takes the login callback.'));
      return;
    }
    handle(req, res);
  };
  const { servers, port: chosen } = await firstFreePort(() => createServer(handler), ports);
  const close = () => {
    handle = undefined;
    for (const server of servers) stop(server);
  };
  const port = chosen;
  return {
    port,
    redirectUri: `http://localhost:${port}/callback`,
    close,
    wait: (accept, { signal, timeoutMs }) =>
      new Promise((resolve, reject) => {
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
          handle = undefined;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        handle = (req, res) => {
          const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
          let value: ReturnType<typeof accept>;
          try {
            value = accept(params);
          } catch (error) {
            if (error instanceof AuthError && error.code === ErrorCode.BAD_RESPONSE) {
              res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
              res.end(
                page('Not this login', 'This callback does not belong to the login in progress.'),
              );
              return;
            }
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
            res.end(page('Login failed', 'The login did not complete. Return to your terminal.'));
            cleanup();
            reject(error);
            return;
          }
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
          res.end(page('Login complete', 'You can close this window and return to your terminal.'));
          cleanup();
          resolve(value);
        };
      }),
  };
}
