import { createServer } from 'node:net';
import { startBentProvider } from '@oidc-auth/test-support/bent-provider';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationUrlEvent,
  CodeFlow,
  defaultLoopbackPorts,
  ErrorCode,
  MemoryTokenStore,
  TokenManager,
} from '../src/index.js';
import { defer, manager, mock, rejection } from './helpers.js';

// Fixed ports below Linux's ephemeral range (32768–60999), so that no outgoing connection of a
// parallel test can hold them.

/**
 * Plays the browser: goes where the login route sent it (the client read that redirect: the
 * mock's login route sends it straight back to the loopback listener with a code and its state).
 */
async function browser(event: AuthorizationUrlEvent) {
  await fetch(event.url);
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
    // The client asked the login route, as the Python client's browser would, and shows where
    // it redirects: a login whose state the server made for this redirect URI.
    expect(server.stats().routes.login).toBe(1);
    const url = new URL(seen[0]?.url ?? '');
    expect(url.searchParams.get('state')?.split('|')[1]).toBe(seen[0]?.redirectUri);
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
        const location = new URL(event.url);
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

  it('a forged callback whose state names our redirect URI (any local program can build one) is refused, error or code; the login goes on', async () => {
    const server = await mock();
    const forged: number[] = [];
    const flow = new CodeFlow({
      host: server.url,
      ports: [31191],
      onAuthorizationUrl: async (event) => {
        const callback = event.redirectUri.replace('localhost', '127.0.0.1');
        for (const params of [
          { state: `r|${event.redirectUri}|v`, error: 'access_denied' },
          { state: `r|${event.redirectUri}|v`, error: 'server_error', error_description: 'x' },
          { state: `r|${event.redirectUri}|attacker-verifier`, code: 'attacker-code' },
        ]) {
          forged.push((await fetch(`${callback}?${new URLSearchParams(params)}`)).status);
        }
        await browser(event);
      },
    });
    const token = await flow.login();
    expect(forged).toEqual([400, 400, 400]);
    expect((await fetch(`${server.url}/api/me`, { headers: token.headers })).status).toBe(200);
    expect(server.stats().grants.authorization_code).toBe(1);
  });

  it("reports an error callback with this login's own state as a typed error, the server's text made printable", async () => {
    const server = await mock();
    const ansi = '\u001b]0;pwned\u0007\u001b[2J<script>alert(1)</script>';
    for (const [error, code] of [
      ['access_denied', ErrorCode.ACCESS_DENIED],
      [`server_error${ansi}`, ErrorCode.SERVER_ERROR],
    ] as const) {
      const flow = new CodeFlow({
        host: server.url,
        ports: [31192],
        onAuthorizationUrl: (event) => {
          const url = new URL(event.url);
          const state = url.searchParams.get('state') ?? '';
          url.search = new URLSearchParams({ state, error, error_description: ansi }).toString();
          void fetch(url);
        },
      });
      const failure = await rejection(flow.login());
      expect(failure.code).toBe(code);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point.
      expect(failure.message).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(JSON.stringify(failure.detail)).not.toMatch(/\\u001b|\\u0007/);
    }
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

describe('RFC 9207 (the issuer in the authorization response)', () => {
  for (const [issSupported, sendIss, outcome] of [
    [true, false, 'refused'],
    [true, true, 'logged in'],
    [false, false, 'logged in'],
  ] as const) {
    it(`a provider that ${issSupported ? 'promises' : 'does not promise'} iss, a callback ${sendIss ? 'with' : 'without'} it: ${outcome}`, async () => {
      const provider = await startBentProvider({ issSupported, sendIss });
      defer(() => provider.close());
      const statuses: number[] = [];
      const stop = new AbortController();
      const flow = new CodeFlow({
        issuer: provider.issuer,
        clientId: provider.clientId,
        scopes: ['openid'],
        verifyIdToken: false,
        ports: [31189],
        onAuthorizationUrl: async (event) => {
          statuses.push((await fetch(event.url)).status);
          // A refused callback leaves the login waiting for the real one: end it here.
          if (statuses[0] !== 200) stop.abort(new Error('refused, as it should be'));
        },
      });
      const result = await flow.login({ signal: stop.signal }).then(
        (token) => token.access_token,
        (error: Error) => error.message,
      );
      if (outcome === 'refused') {
        expect(statuses).toEqual([400]);
        expect(result).toBe('refused, as it should be');
        expect(provider.stats.grants.authorization_code).toBeUndefined();
      } else {
        expect(statuses).toEqual([200]);
        expect(result).toMatch(/^at-/);
      }
    });
  }
});

describe('a provider without a device endpoint, a program without a terminal', () => {
  it('onAuthorizationUrl alone is consent to a browser login: it runs, off a terminal', async () => {
    const provider = await startBentProvider({ device: false });
    defer(() => provider.close());
    const shown: string[] = [];
    const m = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      store: new MemoryTokenStore(),
      env: {},
      redirectPorts: [31188],
      onAuthorizationUrl: async (event) => {
        shown.push(event.url);
        await fetch(event.url); // the program's own way of showing it; the user logs in
      },
    });
    defer(() => m.close());
    const token = await m.getToken();
    expect(shown).toHaveLength(1);
    expect(new URL(shown[0] ?? '').pathname).toBe('/authorize');
    expect(token.access_token).toMatch(/^at-/);
    expect(provider.stats.grants.authorization_code).toBe(1);
  });

  it('neither a device endpoint nor a browser: one typed message naming both ways in', async () => {
    const provider = await startBentProvider({ device: false });
    defer(() => provider.close());
    const m = new TokenManager({
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      store: new MemoryTokenStore(),
      env: {},
      onDeviceCode: () => undefined,
    });
    defer(() => m.close());
    const error = await rejection(m.getToken());
    expect(error.code).toBe(ErrorCode.DEVICE_FLOW_UNSUPPORTED);
    expect(error.message).toContain('announces no device_authorization_endpoint');
    expect(error.message).toContain('no terminal is attached');
    expect(error.message).toContain('onAuthorizationUrl');
    expect(error.message).toContain(
      `oidc-auth login ${provider.issuer} --client-id ${provider.clientId}`,
    );
    expect(error.detail).toMatchObject({ reason: 'no terminal is attached' });
  });
});

describe('offline_access (OpenID Connect Core §11)', () => {
  it('is asked with prompt=consent: a provider that drops it otherwise grants it, and the login gets a refresh token', async () => {
    const provider = await startBentProvider({ offlineNeedsConsent: true });
    defer(() => provider.close());
    const token = await new CodeFlow({
      issuer: provider.issuer,
      clientId: provider.clientId,
      verifyIdToken: false,
      ports: [31187],
      onAuthorizationUrl: (event) => void fetch(event.url),
    }).login();
    const asked = provider.stats.authorizations[0];
    expect(asked?.get('scope')).toBe('openid offline_access');
    expect(asked?.get('prompt')).toBe('consent');
    expect(token.scope).toBe('openid offline_access');
    expect(token.refresh_token).toMatch(/^rt-/);
  });

  it('is not asked for: no prompt is forced', async () => {
    const provider = await startBentProvider();
    defer(() => provider.close());
    await new CodeFlow({
      issuer: provider.issuer,
      clientId: provider.clientId,
      scopes: ['openid', 'profile'],
      verifyIdToken: false,
      ports: [31186],
      onAuthorizationUrl: (event) => void fetch(event.url),
    }).login();
    expect(provider.stats.authorizations[0]?.has('prompt')).toBe(false);
  });
});
