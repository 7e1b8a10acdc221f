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
        // A callback that is not this login's is refused, and does not end the login.
        expect((await fetch('http://127.0.0.1:31194/callback')).status).toBe(400);
        expect((await fetch('http://[::1]:31194/callback?code=x&state=a|b|c')).status).toBe(400);
        await browser(event);
      },
    });
    await flow.login();
    expect(redirect).toBe('http://localhost:31194/callback');
    await expect(fetch('http://127.0.0.1:31194/callback?code=again')).rejects.toThrow();
  });

  it('ignores (400) a callback whose state names another redirect URI, and waits for the real one', async () => {
    const server = await mock();
    const forged: number[] = [];
    const flow = new CodeFlow({
      host: server.url,
      ports: [31193],
      onAuthorizationUrl: async (event) => {
        const res = await fetch(event.url, { redirect: 'manual' });
        const location = new URL(res.headers.get('location') ?? '');
        const real = location.searchParams.get('state') ?? '';
        const [random, , verifier] = real.split('|');
        const forgery = new URL(location);
        forgery.searchParams.set('state', `${random}|http://evil.example/callback|${verifier}`);
        forged.push((await fetch(forgery)).status);
        forged.push((await fetch(`${event.redirectUri}?error=access_denied`)).status);
        await fetch(location);
      },
    });
    const token = await flow.login();
    expect(forged).toEqual([400, 400]);
    expect(token.access_token).toMatch(/^at_/);
    expect(server.stats().grants.authorization_code).toBe(1);
  });

  it('reports an error callback that belongs to this login as a typed error', async () => {
    const server = await mock();
    const flow = new CodeFlow({
      host: server.url,
      ports: [31192],
      onAuthorizationUrl: (event) => {
        const state = `r|${event.redirectUri}|v`;
        const url = new URL(event.redirectUri.replace('localhost', '127.0.0.1'));
        url.search = new URLSearchParams({ state, error: 'access_denied' }).toString();
        void fetch(url);
      },
    });
    expect((await rejection(flow.login())).code).toBe(ErrorCode.ACCESS_DENIED);
  });

  it('skips a port that another program holds on ::1 only (a squatter never gets the callback)', async () => {
    const server = await mock();
    const squatter = createServer();
    const listening = await new Promise<boolean>((resolve, reject) => {
      squatter.once('error', (error: NodeJS.ErrnoException) =>
        error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT'
          ? resolve(false)
          : reject(error),
      );
      squatter.listen(31191, '::1', () => resolve(true));
    });
    defer(() => new Promise<void>((r) => (listening ? squatter.close(() => r()) : r())));
    expect(listening).toBe(true);
    let redirect = '';
    await new CodeFlow({
      host: server.url,
      ports: [31191, 31190],
      onAuthorizationUrl: (event) => {
        redirect = event.redirectUri;
        void browser(event);
      },
    }).login();
    expect(redirect).toBe('http://localhost:31190/callback');
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
