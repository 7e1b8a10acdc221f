import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { defaultLoopbackPorts } from '@oidc-auth/core';
import { build } from 'esbuild';
import type { Steps } from '../src/page.js';
import { type Engine, type EngineContext, type EnginePage, engineName, launch } from './engines.js';

type Page = EnginePage;

let bundled: Promise<{ js: string; warnings: number }> | undefined;

/**
 * The page's script: src/page.ts with the adapters, axios, ky and core's browser build,
 * bundled by esbuild for `platform: 'browser'` from the sources (the `@oidc-auth/source`
 * condition, then `browser`), as an app's bundler would.
 */
export function pageScript(): Promise<{ js: string; warnings: number }> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('../src/page.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['@oidc-auth/source'],
    // The store conformance suite asserts with node:assert/strict: a page gets a small twin.
    alias: {
      'node:assert/strict': fileURLToPath(new URL('../src/assert-shim.ts', import.meta.url)),
    },
    write: false,
    logLevel: 'silent',
  }).then((result) => ({
    js: result.outputFiles[0]?.text ?? '',
    warnings: result.warnings.length,
  }));
  return bundled;
}

const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>oidc-auth test app</title>
<script type="module" src="/page.js"></script></head><body><h1>oidc-auth test app</h1></body></html>`;

export interface App {
  /** `http://localhost:<port>`: a secure context, and a redirect URI origin the provider knows. */
  origin: string;
  close(): Promise<void>;
}

/**
 * The app's own server: every path is the page (`/`, `/callback`, `/reports`, …), `/page.js`
 * its script. On the first free port of the loopback ports the test provider's clients list as
 * redirect URIs (`http://localhost:<port>/callback`).
 */
export async function startApp(): Promise<App> {
  const { js } = await pageScript();
  const server: Server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      res.end(js);
      return;
    }
    if (req.url === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  for (const port of defaultLoopbackPorts) {
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) {
      const { port: bound } = server.address() as AddressInfo;
      return {
        origin: `http://localhost:${bound}`,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    }
  }
  throw new Error(`ports ${defaultLoopbackPorts.join(', ')} are all taken`);
}

/** The engine this run drives (`OIDC_TEST_ENGINE`: chromium, firefox or webkit). */
export const engine = engineName();
const titles = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' } as const;
/** Its name in test titles. */
export const engineTitle = titles[engine];

let launched: Promise<Engine> | undefined;

/** One browser for the file; each test opens its own context (its own origin storage). */
export function browser(): Promise<Engine> {
  launched ??= launch(engine);
  return launched;
}

export async function closeBrowser(): Promise<void> {
  if (launched) await (await launched).close();
  launched = undefined;
}

/** A tab of `context` on `url`, its script loaded. */
export async function tab(context: EngineContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await ready(page);
  return page;
}

/** Runs one step of src/page.ts in `page`. */
export function step<K extends keyof Steps>(
  page: Page,
  name: K,
  ...args: Parameters<Steps[K]>
): Promise<Awaited<ReturnType<Steps[K]>>> {
  return page.evaluate(
    ([n, a]: readonly [string, unknown[]]) =>
      (
        globalThis as unknown as { oidcTest: Record<string, (...x: unknown[]) => unknown> }
      ).oidcTest[n]?.(...a),
    [name as string, args as unknown[]] as const,
  ) as Promise<Awaited<ReturnType<Steps[K]>>>;
}

/** The page's script is loaded again (after a navigation or a reload). */
export function ready(page: Page): Promise<unknown> {
  return page.waitForFunction(() => 'oidcTest' in globalThis);
}

/**
 * Starts a login by redirect in `page` and waits until the provider has sent the browser back
 * to the app's `/callback`, its script loaded again (the page's state is gone: set it up anew).
 */
export async function backOnCallback(page: Page, origin: string, returnTo: string): Promise<void> {
  await step(page, 'startLogin', `${origin}/callback`, returnTo).catch(() => undefined);
  await page.waitForURL(`${origin}/callback?`);
  await ready(page);
}

/** Runs steps in a dedicated Web Worker of `page` (started from the same script). */
export function inWorker(page: Page) {
  return (name: keyof Steps, ...args: unknown[]) =>
    page.evaluate(
      ([n, a]: readonly [string, unknown[]]) =>
        (
          globalThis as unknown as { oidcTest: { inWorker(...x: unknown[]): unknown } }
        ).oidcTest.inWorker(n, ...a),
      [name as string, args] as const,
    );
}
