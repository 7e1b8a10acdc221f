import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on 127.0.0.1, on a free port. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  server: Server;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts `handler` (or a server to add listeners to) on a free loopback port. */
export async function listenLoopback(handler?: RequestListener): Promise<LoopbackServer> {
  const server = handler ? createServer(handler) : createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
