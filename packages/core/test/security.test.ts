import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createAdapterKit,
  DeviceFlow,
  ErrorCode,
  MemoryTokenStore,
  OidcDialect,
  openBrowser,
  parseDeviceAuthorizationAnswer,
  parseDiscoveryAnswer,
  TokenManager,
  writeDeviceCodeToStderr,
} from '../src/index.js';
import { answer, manager, mock, rejection, seededStore } from './helpers.js';

function spawnSpy() {
  const calls: Array<{ command: string; args: readonly string[]; shell: unknown }> = [];
  const spawn = ((command: string, args: readonly string[], options: { shell?: unknown }) => {
    calls.push({ command, args, shell: options.shell });
    const child = new EventEmitter() as ChildProcess;
    child.unref = () => child;
    return child;
  }) as never;
  return { calls, spawn };
}

describe('opening the browser', () => {
  const login = 'https://id.example.org/auth?client_id=a&redirect_uri=x&state=1|2^3';

  it('on Windows passes the URL as one argument to rundll32, never through cmd', () => {
    const { calls, spawn } = spawnSpy();
    expect(openBrowser(login, {}, 'win32', spawn)).toBe(true);
    expect(calls).toEqual([
      {
        command: 'rundll32',
        args: ['url.dll,FileProtocolHandler', new URL(login).href],
        shell: false,
      },
    ]);
  });

  it('opens https, and http only on loopback hosts', () => {
    const { calls, spawn } = spawnSpy();
    for (const url of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      'http://evil.example/login',
      'not a url',
      'smb://server/share',
    ]) {
      expect(openBrowser(url, {}, 'linux', spawn)).toBe(false);
    }
    expect(calls).toHaveLength(0);
    expect(openBrowser('http://127.0.0.1:8080/device', {}, 'linux', spawn)).toBe(true);
    expect(openBrowser('http://localhost:8080/device', {}, 'darwin', spawn)).toBe(true);
    expect(calls.map((c) => c.command)).toEqual(['xdg-open', 'open']);
  });
});

describe('terminal output', () => {
  it('strips control characters from server-sent codes and URIs before printing', () => {
    let out = '';
    const stream = {
      write: (text: string) => {
        out += text;
        return true;
      },
    } as NodeJS.WritableStream;
    writeDeviceCodeToStderr(
      {
        host: 'https://myapp.example.com',
        uri: 'https://myapp.example.com/device\u001b]8;;https://evil\u0007',
        verificationUri: 'https://myapp.example.com/device',
        userCode: 'ABCD\u001b[2J-EFGH\r',
        expiresAt: new Date(Date.now() + 60_000),
        signal: new AbortController().signal,
      },
      stream,
    );
    expect(out).toContain('ABCD[2J-EFGH');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about them.
    expect(out.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('strips them from server error text carried into messages', async () => {
    const server = await mock();
    server.fault({
      route: 'device',
      status: 400,
      body: JSON.stringify({ detail: 'bad\u001b[31m red \u0007 bell' }),
    });
    const error = await rejection(new DeviceFlow({ host: server.url }).getDeviceCode());
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about them.
    expect(`${error.message}${String(error.detail)}`).not.toMatch(/[\u0000-\u001f]/);
    expect(error.detail).toBe('bad[31m red  bell');
  });
});

describe('secrets in logged objects', () => {
  it('inspect and JSON of a manager and an adapter kit show no token', async () => {
    const server = await mock();
    const { store } = await seededStore(server);
    const m = manager(server, { store });
    const token = await m.getToken();
    const kit = createAdapterKit({ manager: m });
    await kit.authorization();
    const shown = [
      inspect(m, { depth: 10, showHidden: true }),
      JSON.stringify(m),
      inspect(kit, { depth: 10 }),
      JSON.stringify(kit),
    ].join('\n');
    expect(shown).toContain(server.url);
    expect(shown).not.toContain(token.access_token);
    expect(shown).not.toContain(token.refresh_token);
  });
});

describe('origins', () => {
  it('a RegExp with the g or y flag answers the same every time (no lastIndex kept between calls)', () => {
    const kit = createAdapterKit({
      host: 'https://auth.example.org',
      store: new MemoryTokenStore(),
      origins: [/^https:\/\/api\.example\.org$/g, /^https:\/\/files\.example\.org$/y],
    });
    const answers = Array.from({ length: 6 }, (_, i) =>
      kit.allows(i % 2 ? 'https://files.example.org/x' : 'https://api.example.org/x'),
    );
    expect(answers).toEqual(Array(6).fill(true));
    expect(kit.allows('https://evil.example.org/x')).toBe(false);
    kit.manager.close();
  });
});

describe('transport', () => {
  it('refuses plain http to a host that is not loopback, unless explicitly allowed', () => {
    const store = new MemoryTokenStore();
    expect(() => new TokenManager({ host: 'http://myapp.example.com', store })).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_OPTIONS,
        message: expect.stringContaining('allowInsecureHttp'),
      }),
    );
    expect(
      () => new TokenManager({ issuer: 'http://id.example.org', clientId: 'c', store }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }));
    expect(
      new TokenManager({ host: 'http://myapp.example.com', store, allowInsecureHttp: true }).origin,
    ).toBe('http://myapp.example.com');
    for (const host of [
      'http://localhost:8080',
      'http://127.0.0.5',
      'http://[::1]:9000',
      'http://api.localhost',
    ]) {
      expect(new TokenManager({ host, store }).origin).toBe(new URL(host).origin);
    }
  });

  const issuer = 'https://id.example.org/realms/x';
  const document = {
    issuer,
    token_endpoint: `${issuer}/token`,
    device_authorization_endpoint: `${issuer}/device`,
  };

  it('refuses discovered endpoints on another origin or over http', () => {
    for (const token_endpoint of [
      'https://evil.example/token',
      'http://id.example.org/realms/x/token',
      'https://id.example.org:8443/token',
      'javascript:alert(1)',
    ]) {
      expect(() =>
        parseDiscoveryAnswer(answer(200, { ...document, token_endpoint }), issuer),
      ).toThrow(expect.objectContaining({ code: ErrorCode.BAD_RESPONSE }));
    }
    const google = parseDiscoveryAnswer(
      answer(200, { ...document, token_endpoint: 'https://oauth2.example.com/token' }),
      issuer,
      ['https://oauth2.example.com'],
    );
    expect(google.token_endpoint).toBe('https://oauth2.example.com/token');
    expect(new OidcDialect({ issuer, clientId: 'c', scopes: 'openid  email' }).scope).toBe(
      'openid email',
    );
  });

  it('refuses a device answer that sends the user to a non-https page', () => {
    const base = { device_code: 'd', user_code: 'U', expires_in: 60 };
    for (const uri of ['javascript:alert(1)', 'http://evil.example/device', 'file:///x']) {
      expect(() =>
        parseDeviceAuthorizationAnswer({
          ...answer(200, { ...base, verification_uri: uri }),
          url: 'https://myapp.example.com/auth/v2/device',
        }),
      ).toThrow(expect.objectContaining({ code: ErrorCode.BAD_RESPONSE }));
    }
    const local = parseDeviceAuthorizationAnswer({
      ...answer(200, { ...base, verification_uri: 'http://myapp.internal/device' }),
      url: 'http://myapp.internal/auth/v2/device',
    });
    expect(local.uri).toBe('http://myapp.internal/device');
  });
});
