import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationUrlEvent,
  CodeFlow,
  defaultLoopbackPorts,
  ErrorCode,
  MemoryTokenStore,
} from '../src/index.js';
import { defer, manager, mock, rejection } from './helpers.js';

// Fixed ports below Linux's ephemeral range (32768–60999), so that no outgoing connection of a
// parallel test can hold them.

/** Plays the browser: follows the login redirect back to the loopback listener. */
async function browser(event: AuthorizationUrlEvent, tamper?: (location: URL) => void) {
  const res = await fetch(event.url, { redirect: 'manual' });
  const location = new URL(res.headers.get('location') ?? '');
  tamper?.(location);
  await fetch(location);
}

/** Makes sure a port is taken (by us, or already by another test file's listener). */
function occupy(port: number): Promise<void> {
  const blocker = createServer();
  return new Promise((resolve, reject) => {
    blocker.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve() : reject(error),
    );
    blocker.listen(port, '127.0.0.1', () => {
      defer(() => new Promise<void>((r) => blocker.close(() => r())));
      resolve();
    });
  });
}

describe('CodeFlow (py-oidc-auth)', () => {
  it('logs in through /auth/v2/login and a loopback callback on the first free port of 53100–53105', async () => {
    const server = await mock();
    const seen: AuthorizationUrlEvent[] = [];
    const flow = new CodeFlow({
      host: server.url,
      onAuthorizationUrl: (event) => {
        seen.push(event);
        void browser(event);
      },
    });
    const token = await flow.login();
    expect(seen[0]?.redirectUri).toMatch(/^http:\/\/localhost:5310[0-5]\/callback$/);
    const url = new URL(seen[0]?.url ?? '');
    expect(url.pathname).toBe('/auth/v2/login');
    expect(url.searchParams.get('redirect_uri')).toBe(seen[0]?.redirectUri);
    expect(url.searchParams.get('offline_access')).toBe('true');
    expect(url.searchParams.get('prompt')).toBe('consent');
    expect(server.stats().grants.authorization_code).toBe(1);
    expect((await fetch(`${server.url}/api/me`, { headers: token.headers })).status).toBe(200);
  });

  it('skips ports in use', async () => {
    const server = await mock();
    await occupy(defaultLoopbackPorts[0]);
    let redirect = '';
    await new CodeFlow({
      host: server.url,
      onAuthorizationUrl: (event) => {
        redirect = event.redirectUri;
        void browser(event);
      },
    }).login();
    expect(redirect).not.toContain(`:${defaultLoopbackPorts[0]}/`);
  });

  it('listens on loopback only, answers 404 off /callback, takes one callback and closes', async () => {
    const server = await mock();
    let redirect = '';
    const flow = new CodeFlow({
      host: server.url,
      ports: [31194],
      onAuthorizationUrl: async (event) => {
        redirect = event.redirectUri;
        expect((await fetch('http://127.0.0.1:31194/elsewhere?code=x')).status).toBe(404);
        expect((await fetch('http://127.0.0.1:31194/callback')).status).toBe(404);
        await browser(event);
      },
    });
    await flow.login();
    expect(redirect).toBe('http://localhost:31194/callback');
    await expect(fetch('http://127.0.0.1:31194/callback?code=again')).rejects.toThrow();
  });

  it('refuses a callback whose state names another redirect URI', async () => {
    const server = await mock();
    const flow = new CodeFlow({
      host: server.url,
      ports: [31193],
      onAuthorizationUrl: (event) =>
        void browser(event, (location) => {
          const [random, , verifier] = (location.searchParams.get('state') ?? '').split('|');
          location.searchParams.set('state', `${random}|http://evil.example/callback|${verifier}`);
        }),
    });
    expect((await rejection(flow.login())).code).toBe(ErrorCode.BAD_RESPONSE);
    expect(server.stats().grants.authorization_code).toBe(0);
  });

  it('reports an error callback as a typed error', async () => {
    const server = await mock();
    const flow = new CodeFlow({
      host: server.url,
      ports: [31192],
      onAuthorizationUrl: (event) =>
        void fetch(`${event.redirectUri.replace('localhost', '127.0.0.1')}?error=access_denied`),
    });
    expect((await rejection(flow.login())).code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('times out cleanly and frees the port', async () => {
    const server = await mock();
    const flow = new CodeFlow({ host: server.url, ports: [31195], onAuthorizationUrl: () => {} });
    const error = await rejection(flow.login({ timeout: 0.3 }));
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    // The port is free again: a plain listen on it succeeds.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(31195, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});

describe('falling back to the browser when the server cannot do the device flow', () => {
  it.each(['unavailable', 'not-mounted', 'no-device-endpoint'] as const)(
    'device route %s → code flow, in an interactive session',
    async (mode) => {
      const server = await mock({ deviceRoute: mode });
      const m = manager(server, {
        store: new MemoryTokenStore(),
        interactive: true,
        onAuthorizationUrl: (event) => void browser(event),
      });
      const token = await m.getToken();
      expect(server.stats().grants.authorization_code).toBe(1);
      expect((await fetch(`${server.url}/api/me`, { headers: token.headers })).status).toBe(200);
    },
  );

  it('no fallback when nobody is at a browser: the device-flow error stands', async () => {
    const server = await mock({ deviceRoute: 'not-mounted' });
    const m = manager(server, { store: new MemoryTokenStore(), onDeviceCode: () => {} });
    expect((await rejection(m.getToken())).code).toBe(ErrorCode.DEVICE_FLOW_UNSUPPORTED);
    expect(server.stats().routes.login).toBe(0);
  });
});
