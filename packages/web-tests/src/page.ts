/**
 * What the Chromium tests drive inside a page: the real adapters (fetch, axios with its XHR
 * and fetch adapters, ky) and the browser build of core, bundled for `platform: 'browser'`.
 * Each step is a function the test calls with `page.evaluate`; what it returns is plain data.
 */
import { oidcAuth } from '@oidc-auth/axios';
import {
  IndexedDbTokenStore,
  isAuthError,
  MemoryTokenStore,
  SessionStorageTokenStore,
  type Token,
  TokenManager,
  type TokenManagerOptions,
  type TokenStore,
} from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc } from '@oidc-auth/ky';
import { storeConformanceCases } from '@oidc-auth/store-conformance';
import axios from 'axios';
import ky from 'ky';

export type ClientKind = 'fetch' | 'axios-xhr' | 'axios-fetch' | 'ky';
export type StoreKind = 'memory' | 'session' | 'idb';

export interface Setup {
  client: ClientKind;
  store: StoreKind;
  manager: TokenManagerOptions;
  /** Put into the store before the manager is made (a login done earlier). */
  seed?: Token;
  origins?: string[];
  /** Show device codes in the page (`onDeviceCode`): a kiosk's or a TV's login. */
  deviceCodes?: boolean;
  /** The IndexedDB store's options. */
  idbOptions?: { lockTimeoutMs?: number };
  /** Remove `navigator.locks` and `BroadcastChannel` first: an older browser. */
  withoutTabApis?: boolean;
  /**
   * Remove what is newer than the supported floor (Chrome 103, Firefox 100, Safari 16):
   * `AbortSignal.any` (Chrome 116, Firefox 124, Safari 17.4) and `URL.canParse` (Chrome 120,
   * Firefox 115, Safari 17).
   */
  olderEngine?: boolean;
}

export interface Answer {
  status: number;
  body: string;
  /** An error the client threw: its name, code and message. */
  error?: { name: string; code?: string; message: string };
}

type Send = (url: string, init: { method: string; body?: string }) => Promise<Answer>;

let manager: TokenManager | undefined;
let armed: Promise<Answer & { ended: number }> | undefined;
/**
 * The bench's floor: a recovery with nothing of ours — the tokens known to the page, a bare
 * `fetch`, and tabs coordinated as well as they can be (tab `leader` refreshes; it posts the new
 * access token on a channel every other tab listens to from the start, no store, no lock).
 */
let bare: { access: string; next: () => Promise<string> } | undefined;

/** The refresh as core sends it to a py-oidc-auth server: the form, one POST. */
async function refreshBare(tokenUrl: string, refresh: string): Promise<string> {
  const answer = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ 'refresh-token': refresh }),
  });
  return ((await answer.json()) as { access_token: string }).access_token;
}

/** A call, and on a 401 the same call again with the token the floor's refresh brings. */
async function bareCall(url: string): Promise<Answer> {
  const once = async (access: string): Promise<Answer> => {
    const answer = await fetch(url, { headers: { authorization: `Bearer ${access}` } });
    return { status: answer.status, body: await answer.text() };
  };
  const { access, next } = bare as NonNullable<typeof bare>;
  const first = await once(access);
  return first.status === 401 ? once(await next()) : first;
}
let goHere: (() => void) | undefined;
let releaseHeld: (() => void) | undefined;
let send: Send | undefined;
let store: TokenStore | undefined;
const events: string[] = [];
/** When each token was taken into use (Date.now(): one clock for every tab of the machine). */
const times: Array<{ source: string; at: number }> = [];

function storeOf(kind: StoreKind, idbOptions: Setup['idbOptions'] = {}): TokenStore {
  if (kind === 'session') return new SessionStorageTokenStore();
  if (kind === 'idb') return new IndexedDbTokenStore(idbOptions);
  return new MemoryTokenStore();
}

function described(error: unknown): Answer {
  const e = error as { name?: string; code?: string; message?: string };
  return {
    status: 0,
    body: '',
    error: {
      name: String(e?.name),
      ...(isAuthError(error) ? { code: error.code } : {}),
      message: String(e?.message),
    },
  };
}

function client(kind: ClientKind, m: TokenManager, origins: string[] | undefined): Send {
  const options = { manager: m, ...(origins ? { origins } : {}) };
  if (kind === 'fetch') {
    const f = oidcFetch(options);
    return async (url, init) => {
      const res = await f(url, init);
      return { status: res.status, body: await res.text() };
    };
  }
  if (kind === 'ky') {
    const api = ky.extend(withOidc(options));
    return async (url, init) => {
      const res = await api(url, { ...init, throwHttpErrors: false, retry: 0 });
      return { status: res.status, body: await res.text() };
    };
  }
  const api = axios.create({ adapter: kind === 'axios-xhr' ? 'xhr' : 'fetch' });
  oidcAuth(options)(api);
  return async (url, init) => {
    const res = await api.request({
      url,
      method: init.method,
      ...(init.body === undefined ? {} : { data: init.body }),
      responseType: 'text',
      validateStatus: () => true,
    });
    return { status: res.status, body: String(res.data) };
  };
}

const steps = {
  /** Makes the store, the manager and the client; the seed is stored first. */
  /** What constructing a manager with `options` says, or undefined when it works. */
  configError(options: Record<string, unknown>): string | undefined {
    try {
      new TokenManager(options as never).close();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  },

  async setup(options: Setup): Promise<{ host: string }> {
    manager?.close();
    if (options.olderEngine) {
      Object.defineProperty(AbortSignal, 'any', { value: undefined, configurable: true });
      Object.defineProperty(URL, 'canParse', { value: undefined, configurable: true });
    }
    if (options.withoutTabApis) {
      Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
      Object.defineProperty(globalThis, 'BroadcastChannel', {
        value: undefined,
        configurable: true,
      });
    }
    store = storeOf(options.store, options.idbOptions);
    const m = new TokenManager({
      ...options.manager,
      store,
      ...(options.deviceCodes
        ? {
            onDeviceCode: (event) => {
              const shown = document.createElement('p');
              shown.id = 'device-code';
              shown.textContent = `Open ${event.uri} and enter ${event.userCode}`;
              shown.dataset.userCode = event.userCode;
              document.body.append(shown);
            },
          }
        : {}),
    });
    if (options.seed) await store.put(m.host, options.seed);
    // Where each token this tab took into use came from: login, refresh, other-process, …
    m.on('token', (event) => {
      events.push(event.source);
      times.push({ source: event.source, at: Date.now() });
    });
    m.on('logout', (event) => events.push(`logout:${event.source}`));
    manager = m;
    send = client(options.client, m, options.origins);
    return { host: m.host };
  },

  async call(url: string, method = 'GET', body?: string): Promise<Answer> {
    try {
      return await (send as Send)(url, { method, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      return described(error);
    }
  },

  /**
   * Takes the Web Lock `name` and holds it until `releaseWebLock` (a tab that hangs, or is
   * paused in a debugger, while it holds the token lock). Returns once it is held.
   */
  holdWebLock(name: string): Promise<void> {
    return new Promise((held) => {
      void navigator.locks.request(name, () => {
        held();
        return new Promise<void>((release) => {
          releaseHeld = release;
        });
      });
    });
  },

  releaseWebLock(): void {
    releaseHeld?.();
  },

  /** For the bench's floor (see `bare`): this tab's tokens, and whether it refreshes. */
  bareSetup(options: { access: string; refresh: string; tokenUrl: string; leader: boolean }): void {
    const { leader, ...tokens } = options;
    if (leader) {
      bare = {
        ...tokens,
        next: async () => {
          const access = await refreshBare(tokens.tokenUrl, tokens.refresh);
          const channel = new BroadcastChannel('oidc-bench-bare');
          channel.postMessage(access);
          channel.close();
          return access;
        },
      };
      return;
    }
    const channel = new BroadcastChannel('oidc-bench-bare');
    const heard = new Promise<string>((resolve) => {
      channel.onmessage = (message) => {
        channel.close();
        resolve(String(message.data));
      };
    });
    bare = { ...tokens, next: () => heard };
  },

  /**
   * For the bench: the tab makes a call when `go` is said on a BroadcastChannel (or in this
   * tab): the tabs start together, whatever the driver's dispatch costs, and with no timer (a
   * background tab's timers are slowed down). `armed` then answers with when the call ended.
   */
  arm(url: string, floor = false): void {
    const channel = new BroadcastChannel('oidc-bench-go');
    armed = new Promise((resolve) => {
      const run = () => {
        channel.close();
        const call = floor ? bareCall(url) : this.call(url);
        void call.then((answer) => resolve({ ...answer, ended: Date.now() }));
      };
      channel.onmessage = run;
      goHere = run;
    });
  },

  /** Says `go` to every armed tab, and starts this tab's own call; returns when. */
  go(): number {
    const at = Date.now();
    const channel = new BroadcastChannel('oidc-bench-go');
    channel.postMessage('go');
    channel.close();
    goHere?.();
    return at;
  },

  armed(): Promise<Answer & { ended: number }> {
    return armed as Promise<Answer & { ended: number }>;
  },

  async logout(): Promise<unknown> {
    return (manager as TokenManager).logout();
  },

  /** The Authorization header this tab would send now, without logging in (none: undefined). */
  async header(): Promise<string | undefined> {
    const health = (manager as TokenManager).health();
    if (health.state !== 'valid') return undefined;
    return (manager as TokenManager).authorization();
  },

  async accessToken(): Promise<string> {
    return (await (manager as TokenManager).getToken()).access_token;
  },

  events(): string[] {
    return [...events];
  },

  eventTimes(): Array<{ source: string; at: number }> {
    return [...times];
  },

  async stored(): Promise<{ access: string | undefined; dpopKey: unknown }> {
    const entry = await (store as TokenStore).get((manager as TokenManager).host);
    return { access: entry?.token.access_token, dpopKey: entry?.token.dpop_key };
  },

  /** Starts a login by redirect: the page navigates away to the provider. */
  async startLogin(redirectUri: string, returnTo: string): Promise<string> {
    return (manager as TokenManager).loginByRedirect({ redirectUri, returnTo });
  },

  async finishLogin(): Promise<{ returnTo: string; access: string } | Answer> {
    try {
      const done = await (manager as TokenManager).handleRedirect();
      return done
        ? { returnTo: done.returnTo, access: done.token.access_token }
        : { status: -1, body: 'not a callback' };
    } catch (error) {
      return described(error);
    }
  },

  /** What a script on the page (an XSS) could read of the stored DPoP key. */
  /**
   * A DPoP login by redirect started and abandoned (the user never came back), then a page load
   * `minutesLater`: how many pending logins and keyring keys there are before and after.
   */
  async abandonedLogin(
    options: TokenManagerOptions,
    minutesLater: number,
  ): Promise<{
    before: { logins: number; keys: number };
    after: { logins: number; keys: number };
  }> {
    const count = async () => {
      let logins = 0;
      for (let i = 0; i < sessionStorage.length; i++) {
        if (sessionStorage.key(i)?.startsWith('oidc-auth:login:')) logins++;
      }
      return { logins, keys: (await this.keyExposure()).extractable.length };
    };
    const first = new TokenManager(options);
    await first.loginByRedirect({
      redirectUri: `${location.origin}/callback`,
      navigate: () => undefined,
    });
    first.close();
    const before = await count();
    const later = Date.now() + minutesLater * 60_000;
    new TokenManager({ ...options, clock: () => later }).close();
    // The key's removal is not awaited by the manager: wait until the keyring says.
    let after = await count();
    for (let i = 0; i < 50 && after.keys === before.keys && minutesLater > 30; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await count();
    }
    return { before, after };
  },

  async keyExposure(): Promise<{ extractable: boolean[]; exported: string }> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('oidc-auth', 1);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const pairs = await new Promise<CryptoKeyPair[]>((resolve, reject) => {
      const r = db.transaction('keys').objectStore('keys').getAll();
      r.onsuccess = () => resolve(r.result as CryptoKeyPair[]);
      r.onerror = () => reject(r.error);
    });
    db.close();
    let exported = 'refused';
    try {
      const first = pairs[0];
      if (first) await crypto.subtle.exportKey('jwk', first.privateKey);
      exported = first ? 'exported' : 'no key';
    } catch (error) {
      exported = `refused: ${(error as Error).name}`;
    }
    return { extractable: pairs.map((p) => p.privateKey.extractable), exported };
  },

  close(): void {
    manager?.close();
    manager = undefined;
  },

  /**
   * The TokenStore conformance suite against a browser store: each case on a fresh database
   * (or key prefix). Returns the failures, by case name.
   */
  async conformance(kind: 'session' | 'idb'): Promise<{ ran: number; failed: string[] }> {
    let made = 0;
    const cases = storeConformanceCases(
      async () => {
        const name = `conformance-${Date.now()}-${++made}`;
        const make = () =>
          kind === 'idb'
            ? new IndexedDbTokenStore({ database: name })
            : new SessionStorageTokenStore({ prefix: `${name}:` });
        return { store: make(), peer: make, close: async () => {} };
      },
      kind === 'idb' ? { shared: true, pushesChanges: true } : {},
    );
    const failed: string[] = [];
    for (const { name, run } of cases) {
      try {
        await run();
      } catch (error) {
        failed.push(`${name}: ${(error as Error).message}`);
      }
    }
    return { ran: cases.length, failed };
  },

  /** Runs a step in a dedicated Web Worker started from this same script (made once). */
  async inWorker(name: string, ...args: unknown[]): Promise<unknown> {
    worker ??= new Worker('/page.js', { type: 'module' });
    const id = ++lastId;
    const answered = new Promise((resolve) => {
      const listener = (event: MessageEvent) => {
        if (event.data?.id !== id) return;
        (worker as Worker).removeEventListener('message', listener);
        resolve(event.data.result);
      };
      (worker as Worker).addEventListener('message', listener);
    });
    worker.postMessage({ id, name, args });
    return answered;
  },
};

let worker: Worker | undefined;
let lastId = 0;

// In a Web Worker the steps answer messages from the page.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
  globalThis.addEventListener('message', async (event: Event) => {
    const { id, name, args } = (event as MessageEvent).data as {
      id: number;
      name: keyof typeof steps;
      args: unknown[];
    };
    const result = await (steps[name] as (...a: unknown[]) => unknown)(...args);
    (globalThis as unknown as { postMessage(message: unknown): void }).postMessage({ id, result });
  });
}

export type Steps = typeof steps;
(globalThis as unknown as { oidcTest: Steps }).oidcTest = steps;
