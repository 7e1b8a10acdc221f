/**
 * Types for what core reads from its host, written out so that the published `.d.ts` files
 * need no `@types/node`.
 */

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The standard streams, as far as a login decision needs them. */
export interface Stdio {
  stdin?: { isTTY?: boolean };
  stderr?: { isTTY?: boolean };
}

/** Somewhere to write text, such as `process.stderr`. */
export interface TextSink {
  write(text: string): unknown;
}

/** `util.inspect`'s hook: a symbol in the global registry, so no `node:util` import is needed. */
export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;
