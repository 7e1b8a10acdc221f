/** Bodies larger than this are not kept for a re-send (their 401 reaches the caller). */
const mostKept = 1024 * 1024;

function sizeOf(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return (chunk as { byteLength?: number }).byteLength ?? mostKept + 1;
}

/**
 * A one-shot body (fetch hands undici every body as an async iterable; a stream) sent while
 * keeping its chunks, so that after a 401 the same bytes can be sent again: when the body was
 * read to its end and is at most 1 MiB. Only references are kept, until the request is over.
 */
export class KeptBody implements AsyncIterable<unknown> {
  readonly #source: AsyncIterable<unknown>;
  #chunks: unknown[] | undefined = [];
  #size = 0;
  #done = false;

  constructor(source: AsyncIterable<unknown>) {
    this.#source = source;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
    for await (const chunk of this.#source) {
      if (this.#chunks) {
        this.#size += sizeOf(chunk);
        if (this.#size > mostKept) this.#chunks = undefined;
        else this.#chunks.push(chunk);
      }
      yield chunk;
    }
    this.#done = true;
  }

  /** The same bytes again, if they were all read and kept; else undefined. */
  again(): AsyncIterable<unknown> | undefined {
    const chunks = this.#done ? this.#chunks : undefined;
    if (!chunks) return undefined;
    return (async function* () {
      yield* chunks;
    })();
  }
}
