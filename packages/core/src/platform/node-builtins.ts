import { createRequire } from 'node:module';

/**
 * Node built-ins loaded on first use: a program that only reads a fresh token never pays for
 * node:crypto or node:child_process at start-up. `createRequire` works in Node, Bun and Deno.
 */
const load = createRequire(import.meta.url);

let crypto: typeof import('node:crypto') | undefined;
/** node:crypto, on first use. */
export function nodeCrypto(): typeof import('node:crypto') {
  crypto ??= load('node:crypto') as typeof import('node:crypto');
  return crypto;
}

let childProcess: typeof import('node:child_process') | undefined;
/** node:child_process, on first use. */
export function nodeChildProcess(): typeof import('node:child_process') {
  childProcess ??= load('node:child_process') as typeof import('node:child_process');
  return childProcess;
}

/**
 * Whether stdin and stderr are terminals, asked of the file descriptors: reading
 * `process.stdin.isTTY` would create the stdin stream (and its cost) just to ask.
 */
export function standardTerminals(): { stdin: { isTTY: boolean }; stderr: { isTTY: boolean } } {
  const { isatty } = load('node:tty') as typeof import('node:tty');
  return { stdin: { isTTY: isatty(0) }, stderr: { isTTY: isatty(2) } };
}

let diagnostics: typeof import('node:diagnostics_channel') | null | undefined;
/** node:diagnostics_channel, on first use; null where the runtime has none. */
export function nodeDiagnosticsChannel(): typeof import('node:diagnostics_channel') | null {
  if (diagnostics === undefined) {
    try {
      diagnostics = load('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
    } catch {
      diagnostics = null;
    }
  }
  return diagnostics;
}
