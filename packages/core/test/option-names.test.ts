import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationUrlEvent,
  authenticate,
  CodeFlow,
  createAdapterKit,
  DeviceFlow,
  ErrorCode,
  MemoryTokenStore,
  TokenManager,
  type TokenManagerOptions,
} from '../src/index.js';
import { defer, fastRetry, manager, mock } from './helpers.js';

/** Options from plain JavaScript: no type checks, as a Python user's first try has none. */
const untyped = (options: Record<string, unknown>) => options as TokenManagerOptions;

function refusal(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the options to be refused');
}

describe('options a Python user types are refused, naming the one we have', () => {
  const host = 'https://myapp.example.com';
  it.each([
    ['timeout', 30, 'did you mean loginTimeout'],
    ['app_name', 'my-app', 'new FileTokenStore({ appName })'],
    ['appName', 'my-app', 'new FileTokenStore({ appName })'],
    ['token_file', '/tmp/t.json', 'new FileTokenStore({ path })'],
    ['redirect_ports', [53100], 'did you mean redirectPorts'],
    ['login_route', '/auth/v2/login', 'did you mean loginRoute'],
    ['loginTimout', 30, 'did you mean loginTimeout'],
    ['requesttimeout', 5, 'did you mean requestTimeout'],
    ['scope', 'openid', 'did you mean scopes'],
    ['hostname', 'myapp.example.com', "did you mean host (the server's URL, with its scheme)?"],
    ['url', host, "did you mean host (a py-oidc-auth server's URL) or issuer"],
    ['issuerUrl', host, 'did you mean issuer?'],
  ])('%s', (name, value, hint) => {
    const error = refusal(() => new TokenManager(untyped({ host, [name]: value })));
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(error.message).toContain(`Unknown option "${name}"`);
    expect(error.message).toContain(hint);
  });

  it('in every entry: authenticate(), DeviceFlow, CodeFlow and the adapters', async () => {
    await expect(authenticate(untyped({ host, timeout: 30 }))).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining('loginTimeout'),
    });
    expect(refusal(() => new DeviceFlow(untyped({ host, app_name: 'x' }))).code).toBe(
      ErrorCode.INVALID_OPTIONS,
    );
    expect(refusal(() => new CodeFlow(untyped({ host, redirect_ports: [1] }))).message).toContain(
      'redirectPorts',
    );
    expect(
      refusal(() => createAdapterKit(untyped({ host, origin: 'https://api.example.com' }))).message,
    ).toContain('did you mean origins');
    const shared = manager(await mock());
    expect(
      refusal(() => createAdapterKit({ manager: shared, orgins: [] } as never)).message,
    ).toContain('did you mean origins');
  });

  it('still takes every option it documents, and undefined for any name', () => {
    const m = new TokenManager(
      untyped({ host, store: new MemoryTokenStore(), loginTimeout: 5, nothing: undefined }),
    );
    m.close();
    const flow = new CodeFlow({ host, ports: [53100] });
    expect(flow).toBeInstanceOf(CodeFlow);
    expect(new DeviceFlow({ host, storeToken: false })).toBeInstanceOf(DeviceFlow);
  });

  it("refuses an OpenID Provider's options with a py-oidc-auth host, and routes with an issuer", () => {
    const scopes = refusal(() => new TokenManager(untyped({ host, scopes: 'openid email' })));
    expect(scopes.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(scopes.message).toContain('scopes goes with an OpenID Provider (issuer + clientId)');
    expect(refusal(() => new TokenManager(untyped({ host, clientId: 'x' }))).message).toContain(
      'clientId goes with an OpenID Provider',
    );
    expect(
      refusal(
        () =>
          new TokenManager(
            untyped({ issuer: 'https://id.example.org', clientId: 'x', tokenRoute: '/t' }),
          ),
      ).message,
    ).toContain('tokenRoute goes with a py-oidc-auth server');
  });

  it('refuses redirectPorts that are not a list of ports', () => {
    for (const ports of [[], [0], [70000], ['53100'], 53100]) {
      expect(
        refusal(() => new TokenManager(untyped({ host, redirectPorts: ports }))).message,
      ).toContain('redirectPorts must be a non-empty list of port numbers');
    }
  });
});

describe('redirectPorts', () => {
  it("is where the manager's browser login listens (a server without the device flow)", async () => {
    const server = await mock({ deviceRoute: 'unavailable' });
    const seen: AuthorizationUrlEvent[] = [];
    const m = new TokenManager({
      host: server.url,
      store: new MemoryTokenStore(),
      redirectPorts: [30571, 30572],
      retry: fastRetry,
      interactive: true,
      onAuthorizationUrl: async (event) => {
        seen.push(event);
        await fetch(event.url); // the mock's login sends the browser straight back
      },
    });
    defer(() => m.close());
    await m.getToken();
    expect(seen[0]?.redirectUri).toMatch(/^http:\/\/localhost:3057[12]\/callback$/);
    expect(server.stats().grants.authorization_code).toBe(1);
  });
});

describe('FileTokenStore, as a Python user writes it', () => {
  it('takes the path as its argument, ~ included, like TokenStore("~/.config/myapp/tokens.json")', async () => {
    const { FileTokenStore } = await import('../src/index.js');
    const store = new FileTokenStore('~/.config/myapp/tokens.json');
    expect(store.path).toBe(join(homedir(), '.config/myapp/tokens.json'));
  });

  it('refuses option names it does not take, naming the one meant', async () => {
    const { FileTokenStore } = await import('../src/index.js');
    for (const [options, meant] of [
      [{ app_name: 'x' }, 'did you mean appName'],
      [{ token_file: '/tmp/t.json' }, 'did you mean path'],
      [{ file: '/tmp/t.json' }, 'did you mean path'],
    ] as const) {
      expect(refusal(() => new FileTokenStore(options as never)).message).toContain(meant);
    }
  });
});

describe('the option forms in the types', () => {
  it('every member a form forbids (`?: never`) says in its doc comment which form takes it', async () => {
    const { readFile } = await import('node:fs/promises');
    for (const file of ['../src/server-options.ts', '../src/adapter-kit.ts']) {
      const source = await readFile(new URL(file, import.meta.url), 'utf8');
      const lines = source.split('\n');
      const forbidden = lines
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => /^\s+\w+\?: never;$/.test(line));
      expect(forbidden.length).toBeGreaterThan(0);
      for (const { line, i } of forbidden) {
        // The hover of the member (and of the error on it) shows this comment.
        expect(`${file}: ${lines[i - 1]?.trim()} ${line.trim()}`).toMatch(
          /\/\*\* (Not with `\w+`|A py-oidc-auth|An OpenID|A dialect).*\*\/ \w+\?: never;$/,
        );
      }
    }
  });
});

describe("the browser stores in core's Node build", () => {
  it('exist with their types, and say where they work when made on Node', async () => {
    const { IndexedDbTokenStore, SessionStorageTokenStore } = await import('../src/index.js');
    for (const Store of [IndexedDbTokenStore, SessionStorageTokenStore]) {
      const error = refusal(() => new Store());
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toContain(`${Store.name} keeps tokens in a browser's storage`);
      expect(error.message).toMatch(/"browser" export condition/);
      expect(error.message).toMatch(/use FileTokenStore .* or MemoryTokenStore/);
    }
  });
});

describe("the IndexedDB store's options (the browser build's class, made here)", () => {
  it('a lock timeout that is not a whole number of milliseconds ≥ 1 is refused at once', async () => {
    const { IndexedDbTokenStore } = await import('../src/web/stores.js');
    for (const lockTimeoutMs of [0, -1, 1.5, Number.NaN, '500' as unknown as number]) {
      const error = refusal(() => new IndexedDbTokenStore({ lockTimeoutMs }));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(/^lockTimeoutMs must be a whole number of milliseconds ≥ 1/);
    }
    expect(() => new IndexedDbTokenStore({ lockTimeoutMs: 500 })).not.toThrow();
    expect(refusal(() => new IndexedDbTokenStore({ lockTimeout: 5 } as never)).message).toContain(
      'lockTimeout',
    );
  });
});
