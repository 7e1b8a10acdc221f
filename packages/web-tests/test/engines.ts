import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { chromium as debianChromium } from '@oidc-auth/test-support/chromium';

/**
 * The three browser engines the web suite runs in, all from Debian, never downloaded: Chromium
 * (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
 * (WebKitWebDriver, a W3C WebDriver server, driven here over HTTP). The suite sees one small
 * interface; `OIDC_TEST_ENGINE` chooses (default chromium).
 */
export type EngineName = 'chromium' | 'firefox' | 'webkit';

export interface EnginePage {
  goto(url: string): Promise<void>;
  /** Runs `fn(arg)` in the page (`fn` is sent as source: it may use only its argument). */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Waits until `fn()` is truthy in the page (across navigations). */
  waitForFunction(fn: () => unknown): Promise<void>;
  /** Waits until the page's URL starts with `prefix` and the new document has loaded. */
  waitForURL(prefix: string): Promise<void>;
  url(): Promise<string>;
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** A browser profile of its own: origin storage, locks and channels shared by its tabs only. */
export interface EngineContext {
  newPage(): Promise<EnginePage>;
  close(): Promise<void>;
}

export interface Engine {
  name: EngineName;
  /** How the engine names itself in test titles. */
  title: string;
  /** The browser's version, as it reports it. */
  version: string;
  newContext(): Promise<EngineContext>;
  close(): Promise<void>;
}

export function engineName(env = process.env): EngineName {
  const name = env.OIDC_TEST_ENGINE ?? 'chromium';
  if (name !== 'chromium' && name !== 'firefox' && name !== 'webkit') {
    throw new Error(`OIDC_TEST_ENGINE must be chromium, firefox or webkit, not ${name}`);
  }
  return name;
}

export async function launch(name: EngineName): Promise<Engine> {
  if (name === 'chromium') return playwrightChromium();
  if (name === 'firefox') return puppeteerFirefox();
  return webkitDriver();
}

/** Polls `check` until it is truthy: for conditions only a driver command can read. */
async function until<T>(check: () => Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What playwright's and puppeteer's pages have alike (their own types differ in detail). */
interface ScriptedPage {
  goto(url: string): Promise<unknown>;
  evaluate(fn: unknown, arg: unknown): Promise<unknown>;
  waitForFunction(fn: () => unknown): Promise<unknown>;
  url(): string;
  reload(): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'pageerror', listener: (error: unknown) => void): unknown;
}

/** An engine page over a playwright or puppeteer page; only waiting for a URL differs. */
function scriptedPage(
  page: ScriptedPage,
  waitForURL: (prefix: string) => Promise<void>,
): EnginePage {
  page.on('pageerror', (error) => {
    throw error;
  });
  return {
    goto: async (url) => void (await page.goto(url)),
    evaluate: (fn, arg) => page.evaluate(fn, arg) as never,
    waitForFunction: async (fn) => void (await page.waitForFunction(fn)),
    waitForURL,
    url: async () => page.url(),
    reload: async () => void (await page.reload()),
    close: () => page.close(),
  };
}

async function playwrightChromium(): Promise<Engine> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch(debianChromium);
  return {
    name: 'chromium',
    title: 'Chromium',
    version: browser.version(),
    async newContext() {
      const context = await browser.newContext();
      return {
        async newPage() {
          const page = await context.newPage();
          return scriptedPage(page as unknown as ScriptedPage, async (prefix) => {
            await page.waitForURL((url) => url.href.startsWith(prefix));
            await page.waitForLoadState('load');
          });
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function puppeteerFirefox(): Promise<Engine> {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    protocol: 'webDriverBiDi',
    // Off the network, as the Chromium flags keep Chromium.
    extraPrefsFirefox: {
      'network.captive-portal-service.enabled': false,
      'app.update.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
    },
  });
  return {
    name: 'firefox',
    title: 'Firefox',
    version: await browser.version(),
    async newContext() {
      const context = await browser.createBrowserContext();
      return {
        async newPage() {
          const page = await context.newPage();
          return scriptedPage(page as unknown as ScriptedPage, async (prefix) => {
            await until(async () => page.url().startsWith(prefix), `a URL at ${prefix}`);
            await page.waitForFunction(() => document.readyState === 'complete');
          });
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A WebKitWebDriver session: one per context (the driver allows one session, whose browser
 * has its own storage), its tabs as windows. Commands are serialised (the session switches
 * windows); a page call runs in the page on its own, and is read back by short calls, so the
 * tabs' calls overlap as they do in the other engines.
 */
async function webkitSession(): Promise<EngineContext> {
  const port = await freePort();
  const driver: ChildProcess = spawn('WebKitWebDriver', ['--host=127.0.0.1', `--port=${port}`], {
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  const raw = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await res.json()) as { value: unknown };
    const error = answer.value as { error?: string; message?: string } | null;
    if (!res.ok) throw new Error(`WebDriver ${path}: ${error?.error} ${error?.message}`);
    return answer.value;
  };
  await until(
    () =>
      raw('GET', '/status').then(
        () => true,
        () => false,
      ),
    'WebKitWebDriver to listen',
  );
  const created = (await raw('POST', '/session', {
    capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { args: ['--automation'] } } },
  })) as { sessionId: string };
  const session = `/session/${created.sessionId}`;
  let tail: Promise<unknown> = Promise.resolve();
  let current = (await raw('GET', `${session}/window`)) as string;
  let unused: string | undefined = current;
  const open = new Set<string>([current]);
  /** One command at a time, in window `handle`. */
  const inWindow = <T>(handle: string, run: () => Promise<T>): Promise<T> => {
    const next = tail.then(async () => {
      if (current !== handle) {
        await raw('POST', `${session}/window`, { handle });
        current = handle;
      }
      return run();
    });
    tail = next.catch(() => undefined);
    return next;
  };
  let runs = 0;
  const page = (handle: string): EnginePage => {
    const execute = (script: string, args: unknown[]) =>
      inWindow(handle, () => raw('POST', `${session}/execute/sync`, { script, args }));
    const self: EnginePage = {
      goto: (url) =>
        inWindow(handle, async () => void (await raw('POST', `${session}/url`, { url }))),
      async evaluate(fn, arg) {
        type Run = {
          done?: boolean;
          gone?: boolean;
          value?: unknown;
          undefined?: boolean;
          error?: string;
        };
        const id = `run${++runs}`;
        // Started in the page, and answered in the same command when it ends soon (before a
        // navigation it starts takes the page away); else read back by short commands, so that
        // a long call of one tab does not hold the session from the others.
        const started = (await inWindow(handle, () =>
          raw('POST', `${session}/execute/async`, {
            script: `const [id, source, arg, done] = arguments;
              const runs = (window.__engineRuns ??= {});
              runs[id] = { done: false };
              const run = Promise.resolve().then(() => (0, eval)('(' + source + ')')(arg)).then(
                (value) => { runs[id] = { done: true, value, undefined: value === undefined }; },
                (error) => { runs[id] = { done: true, error: String((error && error.stack) || error) }; });
              Promise.race([run, new Promise((resolve) => setTimeout(resolve, 250))]).then(() => done(runs[id]));`,
            args: [id, fn.toString(), arg],
          }),
        )) as Run;
        // A page that navigated away (a login by redirect) has no record: its call is over.
        const read = () =>
          execute('return (window.__engineRuns || {})[arguments[0]] || { gone: true }', [id]).then(
            (run) => ((run as Run).done || (run as Run).gone ? (run as Run) : undefined),
            (): Run => ({ gone: true }),
          );
        const result = started.done ? started : ((await until(read, 'a page call', 60_000)) as Run);
        if (result.error) throw new Error(result.error);
        return (result.undefined ? undefined : result.value) as never;
      },
      async waitForFunction(fn) {
        await until(
          () =>
            execute(`return !!(0, eval)('(' + arguments[0] + ')')()`, [fn.toString()]).catch(
              () => false,
            ),
          'a condition in the page',
        );
      },
      async waitForURL(prefix) {
        await until(
          async () =>
            (await self.url()).startsWith(prefix) &&
            (await execute('return document.readyState', []).catch(() => '')) === 'complete',
          `a URL at ${prefix}`,
        );
      },
      url: () => inWindow(handle, () => raw('GET', `${session}/url`) as Promise<string>),
      reload: () =>
        inWindow(handle, async () => void (await raw('POST', `${session}/refresh`, {}))),
      close: () =>
        inWindow(handle, async () => {
          await raw('DELETE', `${session}/window`);
          open.delete(handle);
          current = '';
        }),
    };
    return self;
  };
  return {
    async newPage() {
      // The session's first window serves the first page; later pages get tabs of their own.
      const first = unused;
      unused = undefined;
      const any = [...open][0] ?? current;
      const handle =
        first ??
        (
          (await inWindow(any, () => raw('POST', `${session}/window/new`, { type: 'tab' }))) as {
            handle: string;
          }
        ).handle;
      open.add(handle);
      return page(handle);
    },
    async close() {
      await tail;
      await raw('DELETE', session).catch(() => undefined);
      driver.kill();
    },
  };
}

/** The installed WebKitGTK's Debian version (the driver has no --version). */
function webkitVersion(): string {
  // dpkg-query's format names the field as ${Version} (not a template: no placeholder here).
  const format = ['-f=$', '{Version}'].join('');
  const query = spawnSync('dpkg-query', ['-W', format, 'libwebkit2gtk-4.1-0'], {
    encoding: 'utf8',
  });
  return query.stdout.trim() || 'unknown';
}

async function webkitDriver(): Promise<Engine> {
  const contexts = new Set<EngineContext>();
  return {
    name: 'webkit',
    title: 'WebKit',
    version: `WebKitGTK ${webkitVersion()}`,
    async newContext() {
      const context = await webkitSession();
      contexts.add(context);
      return {
        newPage: () => context.newPage(),
        async close() {
          contexts.delete(context);
          await context.close();
        },
      };
    },
    async close() {
      await Promise.all([...contexts].map((c) => c.close()));
    },
  };
}
