import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a GET answered: the status, the headers (lower-case names, as node:http gives them) and
 * the body as text (at most 1 MiB). Not a `Headers` object: on Node 20 its first use loads
 * undici (~45 ms).
 */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One GET with node:http(s), redirects not followed (a token never goes to where a redirect
 * points). Not `fetch`: on Node 20 the first fetch of a process costs about 250 ms of start-up
 * (undici is compiled on first use), which `oidc-auth token` would pay on every run.
 */
export async function get(
  url: string,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<Answer> {
  const { request } = url.startsWith('https:')
    ? await import('node:https')
    : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 1024 * 1024) req.destroy(new Error('the answer is larger than 1 MiB'));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The body as a JSON object, or an empty one. */
export function jsonOf(answer: Answer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(answer.text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
