import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  defaultTokenFile,
  ErrorCode,
  FileTokenStore,
  type StoreCorruptEvent,
  type StoreInsecureEvent,
  type Token,
  TokenManager,
  userCacheDir,
} from '../src/index.js';
import { asToken, defer, mock, tempDir } from './helpers.js';

const now = Math.floor(Date.now() / 1000);

function token(overrides: Partial<Token> = {}): Token {
  const t = {
    access_token: 'at-canary',
    token_type: 'Bearer',
    expires: now + 300,
    refresh_token: 'rt-canary',
    refresh_expires: now + 3600,
    scope: 'openid',
    ...overrides,
  };
  return { ...t, headers: { Authorization: `Bearer ${t.access_token}` } };
}

async function storeIn(dir: string, options = {}) {
  const path = join(dir, 'token-store.json');
  return { path, store: new FileTokenStore({ path, ...options }) };
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('FileTokenStore: layout and location', () => {
  it('writes the py-oidc-auth-client layout', async () => {
    const { path, store } = await storeIn(await tempDir());
    await store.put('https://myapp.example.com', token());
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file).toEqual({
      'https://myapp.example.com': { token: token(), stored_at: expect.any(Number) },
    });
    expect(Math.abs(file['https://myapp.example.com'].stored_at - Date.now() / 1000)).toBeLessThan(
      5,
    );
  });

  it('shares the file with the Python client: a DPoP entry (with its key) sits beside py hosts, 0600, untouched by their writes', async () => {
    const { path, store } = await storeIn(await tempDir());
    const { DpopKey } = await import('../src/index.js');
    const issuer = 'https://id.example.org/realms/science';
    // The manager keys an OpenID Provider's login by its session: the issuer (path included),
    // the client and what it asked for.
    const manager = new TokenManager({ issuer, clientId: 'cli', store, interactive: false });
    manager.close();
    const bound = token({
      access_token: 'at-dpop',
      token_type: 'DPoP',
      dpop_key: (await DpopKey.generate()).jwk,
    });
    await store.put(manager.host, bound);
    // What the Python client does with the file: read it whole, write its own host, keep the rest.
    const python = JSON.parse(await readFile(path, 'utf8'));
    python['https://myapp.example.com'] = {
      token: token({ access_token: 'at-python' }),
      stored_at: now,
    };
    await writeFile(path, JSON.stringify(python));
    // The Python client looks up normalised hosts only: the issuer's entry is never one of them,
    // and the fields it reads (expires, refresh_expires) are where it expects them.
    expect(manager.host.startsWith(`${issuer}#client_id=cli&`)).toBe(true);
    expect(Object.keys(python)).toEqual([manager.host, 'https://myapp.example.com']);
    expect(python[manager.host].token).toMatchObject({
      expires: bound.expires,
      refresh_expires: bound.refresh_expires,
    });
    await store.put('https://myapp.example.com', token({ access_token: 'at-node' }));
    const after = JSON.parse(await readFile(path, 'utf8'));
    expect(after[manager.host].token).toEqual(JSON.parse(JSON.stringify(bound)));
    expect((await store.get(manager.host))?.token.dpop_key).toEqual(bound.dpop_key);
    expect(await mode(path)).toBe(0o600);
  });

  it('reads a file written by the Python client', async () => {
    const dir = await tempDir();
    const path = join(dir, 'token-store.json');
    await writeFile(
      path,
      JSON.stringify({
        'https://myapp.example.com': {
          token: {
            access_token: 'eyJ.python',
            token_type: 'Bearer',
            expires: now + 600.5,
            refresh_token: 'rt.python',
            refresh_expires: now + 7200,
            scope: 'openid offline_access',
            headers: { Authorization: 'Bearer eyJ.python' },
          },
          stored_at: 1717027200.0,
        },
      }),
    );
    const entry = await new FileTokenStore({ path }).get('https://myapp.example.com');
    expect(entry?.token.access_token).toBe('eyJ.python');
    expect(entry?.token.headers).toEqual({ Authorization: 'Bearer eyJ.python' });
    expect(entry?.stored_at).toBe(1717027200);
  });

  it('uses the platform user-cache folder of py-oidc-auth, like platformdirs', () => {
    expect(userCacheDir('py-oidc-auth', { XDG_CACHE_HOME: '/xdg' }, 'linux')).toBe(
      '/xdg/py-oidc-auth',
    );
    expect(userCacheDir('py-oidc-auth', {}, 'linux')).toBe(
      join(homedir(), '.cache', 'py-oidc-auth'),
    );
    // platformdirs takes a relative XDG_CACHE_HOME relative to the working folder; a blank one
    // means the default.
    expect(userCacheDir('py-oidc-auth', { XDG_CACHE_HOME: 'relative' }, 'linux')).toBe(
      join(process.cwd(), 'relative', 'py-oidc-auth'),
    );
    expect(userCacheDir('py-oidc-auth', { XDG_CACHE_HOME: '  ' }, 'linux')).toBe(
      join(homedir(), '.cache', 'py-oidc-auth'),
    );
    expect(userCacheDir('py-oidc-auth', {}, 'darwin')).toBe(
      join(homedir(), 'Library', 'Caches', 'py-oidc-auth'),
    );
    expect(userCacheDir('app', { LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32')).toBe(
      join('C:\\Users\\me\\AppData\\Local', 'app', 'app', 'Cache'),
    );
    expect(defaultTokenFile('py-oidc-auth', { XDG_CACHE_HOME: '/xdg' })).toBe(
      '/xdg/py-oidc-auth/token-store.json',
    );
  });

  it('lets OIDC_TOKEN_FILE name the file, and path override both', () => {
    expect(defaultTokenFile('py-oidc-auth', { OIDC_TOKEN_FILE: '/data/tokens.json' })).toBe(
      '/data/tokens.json',
    );
    expect(new FileTokenStore({ env: { OIDC_TOKEN_FILE: '/data/t.json' } }).path).toBe(
      '/data/t.json',
    );
    expect(
      new FileTokenStore({ env: { OIDC_TOKEN_FILE: '/data/t.json' }, path: '/x/y.json' }).path,
    ).toBe('/x/y.json');
    expect(new FileTokenStore({ env: { XDG_CACHE_HOME: '/c' }, appName: 'my-app' }).path).toBe(
      '/c/my-app/token-store.json',
    );
  });

  it('expands a leading ~ in path and OIDC_TOKEN_FILE, as the Python client examples write them', async () => {
    const home = await tempDir();
    const env = { HOME: home };
    expect(new FileTokenStore({ env, path: '~/.cache/x.json' }).path).toBe(
      join(home, '.cache', 'x.json'),
    );
    expect(defaultTokenFile('py-oidc-auth', { ...env, OIDC_TOKEN_FILE: '~/tokens.json' })).toBe(
      join(home, 'tokens.json'),
    );
    expect(new FileTokenStore({ env: { ...env, OIDC_TOKEN_FILE: '~' } }).path).toBe(home);
    // Only a leading ~ alone or before a slash: other names are paths like any other.
    expect(new FileTokenStore({ env, path: '/data/~/t.json' }).path).toBe('/data/~/t.json');
    // Written there, and no folder named "~" appears in the working directory.
    const store = new FileTokenStore({ env, path: '~/nested/t.json' });
    await store.put('https://x.example.org', {
      access_token: 'a',
      token_type: 'Bearer',
      expires: Math.floor(Date.now() / 1000) + 3600,
      refresh_token: 'r',
      refresh_expires: Math.floor(Date.now() / 1000) + 7200,
      scope: '',
      headers: { Authorization: 'Bearer a' },
    });
    expect(await store.hosts()).toEqual(['https://x.example.org']);
    expect(existsSync(join(home, 'nested', 't.json'))).toBe(true);
    expect(existsSync(join(process.cwd(), '~'))).toBe(false);
  });

  it('refuses an appName that could escape the cache folder', () => {
    expect(() => new FileTokenStore({ appName: '../x' })).toThrow(AuthError);
  });
});

describe('FileTokenStore: entries', () => {
  it('puts, gets, lists, removes and clears', async () => {
    const { store } = await storeIn(await tempDir());
    await store.put('https://a.example', token({ access_token: 'a' }));
    await store.put('https://b.example', token({ access_token: 'b' }));
    expect((await store.get('https://a.example'))?.token.access_token).toBe('a');
    expect((await store.hosts()).sort()).toEqual(['https://a.example', 'https://b.example']);
    expect(await store.remove('https://a.example')).toBe(true);
    expect(await store.remove('https://a.example')).toBe(false);
    expect(await store.hosts()).toEqual(['https://b.example']);
    await store.clear();
    expect(await store.hosts()).toEqual([]);
  });

  it('evicts what py-oidc-auth-client evicts: longest expiry within 30 s, or no token at all', async () => {
    const dir = await tempDir();
    const { path, store } = await storeIn(dir);
    await writeFile(
      path,
      JSON.stringify({
        'https://old.example': {
          token: token({ expires: now - 100, refresh_expires: now + 20 }),
          stored_at: 1,
        },
        'https://alive.example': {
          token: token({ expires: now - 100, refresh_expires: now + 90 }),
          stored_at: 1,
        },
        'https://weird.example': { something: 'else' },
      }),
    );
    expect(await store.get('https://old.example')).toBeUndefined();
    expect((await store.get('https://alive.example'))?.token.refresh_expires).toBe(now + 90);
    expect(await store.hosts()).toEqual(['https://alive.example']);
    await store.put('https://new.example', token());
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.keys(file).sort()).toEqual(['https://alive.example', 'https://new.example']);
  });

  it("normalises host keys as the Python client does, keeps entry fields it does not know, and never carries the old token's fields", async () => {
    const { path, store } = await storeIn(await tempDir());
    await writeFile(
      path,
      JSON.stringify({
        'https://host-c.example.org': {
          token: { ...token(), session_state: 'kept', id_token: 'eyJ.old.id' },
          stored_at: 1,
          note: 'written by another tool',
        },
      }),
    );
    expect(await store.get('https://Host-C.example.org/')).toBeDefined();
    expect(await store.get('HTTPS://host-c.example.org:443')).toBeDefined();
    await store.put('https://HOST-C.example.org/', token({ access_token: 'at_new' }));
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.keys(file)).toEqual(['https://host-c.example.org']);
    expect(file['https://host-c.example.org']).toMatchObject({
      note: 'written by another tool',
      token: { access_token: 'at_new' },
    });
    // The old token's fields (an ID token, Keycloak's session_state) belong to the old token:
    // the new one is written whole, as py-oidc-auth-client's put writes it.
    expect(file['https://host-c.example.org'].token).toEqual(token({ access_token: 'at_new' }));
    await store.put('https://host-c.example.org', token({ id_token: 'eyJ.new.id' }));
    expect((await store.get('https://host-c.example.org'))?.token.id_token).toBe('eyJ.new.id');
    expect(await store.remove('https://host-c.example.org/')).toBe(true);
  });

  it('keys a server URL with a path as the Python client does: scheme, host and port only', async () => {
    const { path, store } = await storeIn(await tempDir());
    // The Python client's entry for its server https://host-p.example.org/api/v1/.
    await writeFile(
      path,
      JSON.stringify({ 'https://host-p.example.org': { token: token(), stored_at: now } }),
    );
    expect((await store.get('https://host-p.example.org/api/v1/'))?.token.access_token).toBe(
      'at-canary',
    );
    await store.put('https://Host-P.example.org/api/', token({ access_token: 'at-node' }));
    await store.put('https://host-q.example.org:443/x/y', token({ access_token: 'at-q' }));
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.keys(file).sort()).toEqual([
      'https://host-p.example.org',
      'https://host-q.example.org',
    ]);
    expect(file['https://host-p.example.org'].token.access_token).toBe('at-node');
    // A bare host name is an https server, as the manager keys it.
    expect((await store.get('host-q.example.org'))?.token.access_token).toBe('at-q');
    expect(await store.remove('https://host-q.example.org/anything')).toBe(true);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')))).toEqual([
      'https://host-p.example.org',
    ]);
  });

  it("keeps an OpenID Provider issuer's path: two realms on one host are two logins, never the host's entry", async () => {
    const { path, store } = await storeIn(await tempDir());
    const realms = ['https://kc-two.example.org/realms/a', 'https://kc-two.example.org/realms/b'];
    const managers = realms.map(
      (issuer) => new TokenManager({ issuer, clientId: 'cli', store, interactive: false }),
    );
    for (const m of managers) m.close();
    const [a, b] = managers.map((m) => m.host) as [string, string];
    // A py-oidc-auth server on the same origin: its entry must never answer for a realm.
    await store.put('https://kc-two.example.org', token({ access_token: 'at-host' }));
    expect(await store.get(a)).toBeUndefined();
    await store.put(a, token({ access_token: 'at-a' }));
    await store.put(b, token({ access_token: 'at-b' }));
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.keys(file).sort()).toEqual(['https://kc-two.example.org', a, b].sort());
    // The server part of a session key is normalised; what follows `#` is kept as it is.
    const spelled = b.replace('https://kc-two.example.org', 'HTTPS://KC-TWO.example.org:443');
    expect((await store.get(spelled))?.token.access_token).toBe('at-b');
    expect(await store.get(b.replace('client_id=cli', 'client_id=CLI'))).toBeUndefined();
    // A plain key with a path is a py-oidc-auth server's URL: its host's entry, as in Python.
    expect((await store.get('https://kc-two.example.org/api/v1'))?.token.access_token).toBe(
      'at-host',
    );
  });

  it('finds an issuer entry another process wrote by its exact key (oidc-auth status lists them)', async () => {
    const { path, store } = await storeIn(await tempDir());
    const issuer = 'https://kc-other-process.example.org/realms/x';
    await writeFile(path, JSON.stringify({ [issuer]: { token: token(), stored_at: now } }));
    expect(await store.hosts()).toEqual([issuer]);
    expect((await store.get(issuer))?.token.access_token).toBe('at-canary');
  });

  it('uses an entry without expires as the Python client does: an expired access token whose refresh token still works', async () => {
    const { path, store } = await storeIn(await tempDir());
    const { expires: _none, ...withoutExpires } = token({ access_token: 'at-python' });
    await writeFile(
      path,
      JSON.stringify({
        'https://no-expires.example.org': { token: withoutExpires, stored_at: now },
      }),
    );
    const stored = await store.get('https://no-expires.example.org');
    expect(stored?.token).toMatchObject({ access_token: 'at-python', expires: 0 });
    // Without a refresh token's expiry either, nothing is left to use: evicted, as Python does.
    const { refresh_expires: _gone, ...neither } = withoutExpires;
    await writeFile(
      path,
      JSON.stringify({ 'https://no-expires.example.org': { token: neither, stored_at: now } }),
    );
    expect(await store.get('https://no-expires.example.org')).toBeUndefined();
    // An expiry that is there but not a number is refused, never guessed.
    await writeFile(
      path,
      JSON.stringify({
        'https://no-expires.example.org': {
          token: { ...withoutExpires, expires: 'soon' },
          stored_at: now,
        },
      }),
    );
    expect(await store.get('https://no-expires.example.org')).toBeUndefined();
  });

  it('a manager refreshes an entry without expires instead of asking for a login', async () => {
    const server = await mock();
    const { path, store } = await storeIn(await tempDir());
    const { expires: _none, ...python } = asToken(server.issueToken());
    await writeFile(path, JSON.stringify({ [server.url]: { token: python, stored_at: now } }));
    const manager = new TokenManager({ host: server.url, store, interactive: false });
    try {
      const fresh = await manager.getToken();
      expect(fresh.access_token).not.toBe(python.access_token);
      expect(server.stats().grants.refresh_token).toBe(1);
    } finally {
      manager.close();
    }
  });

  it('reports a token file others can read, and a folder anyone can write, once each', async () => {
    const dir = await tempDir();
    const { path } = await storeIn(dir);
    const events: StoreInsecureEvent[] = [];
    const store = new FileTokenStore({ path, onInsecure: (e) => events.push(e) });
    await store.put('https://a.example', token());
    expect(events).toEqual([]);
    await chmod(path, 0o644);
    await chmod(dir, 0o777);
    await store.get('https://a.example');
    await store.get('https://a.example');
    expect(events.map((e) => [e.path, e.mode])).toEqual([
      [path, 0o644],
      [dir, 0o777],
    ]);
    // Our own file is made 0600 on the read itself: read-only commands never write.
    expect(events[0]?.message).toContain('it was made 0600');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(events[1]?.message).toContain(`chmod o-w ${dir}`);
    await chmod(dir, 0o700);
  });

  it('judges the folder as OpenSSH does: a sticky world-writable folder (/tmp) is no alarm; one not ours gets no advice to change it', async () => {
    const dir = await tempDir();
    const events: StoreInsecureEvent[] = [];
    // Like /tmp: writable by all, sticky — nobody can replace another's file.
    await chmod(dir, 0o1777);
    const inSticky = new FileTokenStore({
      path: join(dir, 'token-store.json'),
      onInsecure: (e) => events.push(e),
    });
    await inSticky.put('https://a.example', token());
    await inSticky.get('https://a.example');
    expect(events).toEqual([]);
    // /tmp itself, as a user's OIDC_TOKEN_FILE=/tmp/tokens.json: quiet too.
    expect((await stat('/tmp')).mode & 0o1000).toBe(0o1000);
    const inTmp = new FileTokenStore({
      path: join('/tmp', `oidc-auth-${process.pid}.json`),
      onInsecure: (e) => events.push(e),
    });
    defer(() => rm(inTmp.path, { force: true }));
    await inTmp.put('https://a.example', token());
    expect(events).toEqual([]);

    // World-writable without the sticky bit, and not ours: the advice is to move, never to chmod.
    if (process.getuid?.() === 0) {
      const theirs = join(dir, 'theirs');
      await mkdir(theirs, { mode: 0o777 });
      await chmod(theirs, 0o777);
      await chown(theirs, 65534, 65534);
      const store = new FileTokenStore({
        path: join(theirs, 'token-store.json'),
        onInsecure: (e) => events.push(e),
      });
      await store.put('https://a.example', token());
      await store.get('https://a.example');
      expect(events).toHaveLength(1);
      expect(events[0]?.message).toContain('writable by every user');
      expect(events[0]?.message).toContain('keep it in a folder of your own');
      expect(events[0]?.message).not.toContain('chmod');
    }
    await chmod(dir, 0o700);
  });

  it('keeps every host’s entry when many are written at once', async () => {
    const { store } = await storeIn(await tempDir());
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.put(`https://h${i}.example`, token())),
    );
    expect((await store.hosts()).length).toBe(20);
  });
});

describe('FileTokenStore: safety', () => {
  it('writes the file 0600 in a 0700 folder, also under umask 000, and re-applies it', async () => {
    const dir = await tempDir();
    const nested = join(dir, 'cache', 'py-oidc-auth');
    const path = join(nested, 'token-store.json');
    const previous = process.umask(0);
    try {
      const store = new FileTokenStore({ path });
      await store.put('https://a.example', token());
      expect(await mode(path)).toBe(0o600);
      expect(await mode(nested)).toBe(0o700);
      await chmod(path, 0o644);
      await store.put('https://a.example', token());
      expect(await mode(path)).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('replaces the file atomically and leaves no temp files', async () => {
    const dir = await tempDir();
    const { store } = await storeIn(dir);
    for (let i = 0; i < 10; i++)
      await store.put('https://a.example', token({ access_token: `a${i}` }));
    const names = (await readdir(dir)).filter((n) => !n.endsWith('.lock'));
    expect(names).toEqual(['token-store.json']);
  });

  it('moves a corrupt file aside, reports it, and never loses its content', async () => {
    const dir = await tempDir();
    const events: StoreCorruptEvent[] = [];
    const { path, store } = await storeIn(dir, {
      onCorrupt: (e: StoreCorruptEvent) => events.push(e),
    });
    const garbage = '{"https://other.example": {"token": {"access_token": "keep-me"';
    await writeFile(path, garbage, { mode: 0o644 });
    await chmod(path, 0o644);
    expect(await store.get('https://a.example')).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]?.reason).toBe('it is not valid JSON');
    expect(events[0]?.movedTo).toMatch(/token-store\.json\.corrupt-\d{4}-/);
    expect(await readFile(events[0]?.movedTo ?? '', 'utf8')).toBe(garbage);
    // The copy may hold tokens: 0600, whatever the file's mode was.
    expect((await stat(events[0]?.movedTo ?? '')).mode & 0o777).toBe(0o600);
    await store.put('https://a.example', token());
    expect(await store.hosts()).toEqual(['https://a.example']);
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"x"'],
    ['empty', ''],
  ])('treats a file holding %s as corrupt', async (_, content) => {
    const dir = await tempDir();
    const events: StoreCorruptEvent[] = [];
    const { path, store } = await storeIn(dir, {
      onCorrupt: (e: StoreCorruptEvent) => events.push(e),
    });
    await writeFile(path, content);
    expect(await store.hosts()).toEqual([]);
    expect(events).toHaveLength(1);
  });

  it('refuses a symlinked store file and leaves its target alone', async () => {
    const dir = await tempDir();
    const target = join(dir, 'elsewhere.json');
    await writeFile(target, '{}');
    const path = join(dir, 'token-store.json');
    await symlink(target, path);
    const store = new FileTokenStore({ path });
    await expect(store.get('https://a.example')).rejects.toMatchObject({
      code: ErrorCode.STORE_ERROR,
      message: expect.stringContaining('symbolic link'),
    });
    await expect(store.put('https://a.example', token())).rejects.toMatchObject({
      code: ErrorCode.STORE_ERROR,
    });
    expect(await readFile(target, 'utf8')).toBe('{}');
  });

  it('gives up waiting for a held lock with OIDC_STORE_ERROR', async () => {
    const dir = await tempDir();
    const { path } = await storeIn(dir);
    const holder = new FileTokenStore({ path, staleMs: 60_000 });
    const waiter = new FileTokenStore({ path, lockTimeoutMs: 200 });
    let release!: () => void;
    let acquired!: () => void;
    const lockHeld = new Promise<void>((r) => (acquired = r));
    const held = holder.withLock('h', () => {
      acquired();
      return new Promise<void>((r) => (release = r));
    });
    // Only once the holder has the lock does the waiter start: it must then wait and give up.
    await lockHeld;
    await expect(waiter.put('https://a.example', token())).rejects.toMatchObject({
      code: ErrorCode.STORE_ERROR,
      message: expect.stringContaining('another process holds it'),
    });
    // Never advice to delete a lock that may be live.
    await expect(waiter.put('https://a.example', token())).rejects.toSatisfy(
      (error: Error) => !/remove|delete/i.test(error.message),
    );
    expect(new FileTokenStore({ path })).toMatchObject({
      // A holder may refresh for up to ~2 minutes (4 × 30 s and backoff): waiters outlast it.
      lockTimeoutMs: 300_000,
    });
    release();
    await held;
  });

  it('reads and writes through the lock handle while holding the lock', async () => {
    const { store } = await storeIn(await tempDir());
    await store.withLock('https://a.example', async (entry) => {
      expect(await entry.get()).toBeUndefined();
      await entry.put(token());
      expect((await entry.get())?.token.access_token).toBe(token().access_token);
      expect(await store.hosts()).toEqual(['https://a.example']);
      expect(entry.signal.aborted).toBe(false);
    });
  });
});

describe('a corrupt token file, seen by a program', () => {
  it('the login-required error names the unreadable file and where its content was kept', async () => {
    const dir = await tempDir();
    const path = join(dir, 'token-store.json');
    await writeFile(path, '{"https://a.example": {"token": ', { mode: 0o600 });
    const manager = new TokenManager({
      host: 'https://a.example',
      store: new FileTokenStore({ path }),
      interactive: false,
    });
    try {
      const error = await manager.getToken().then(
        () => undefined,
        (e: unknown) => e as AuthError,
      );
      expect(error?.code).toBe(ErrorCode.LOGIN_REQUIRED);
      expect(error?.message).toContain(
        `Your token file ${path} was unreadable (it is not valid JSON)`,
      );
      expect(error?.message).toMatch(/kept as .*token-store\.json\.corrupt-/);
    } finally {
      manager.close();
    }
  });
});
