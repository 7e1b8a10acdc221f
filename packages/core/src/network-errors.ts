import { AuthError, ErrorCode, redact } from './errors.js';

/** Errors worth retrying, marked where they are made (keyed by the error object itself). */
const transient = new WeakSet<object>();

/** Marks an error as worth retrying (network failure, 5xx, 429, timeout). */
export function markTransient<E extends object>(error: E): E {
  transient.add(error);
  return error;
}

export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && transient.has(error);
}

/** Network errors that mean "nobody there": no such host, nothing listening, no route. */
const unreachable: ReadonlySet<string> = new Set([
  'ENOTFOUND',
  'EAI_FAIL',
  'EAI_NONAME',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_BAD_PORT',
  'ERR_INVALID_URL',
]);

/** TLS failures: a plain-http server spoken to over https, or a certificate not trusted. */
function isTlsFailure(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    code.endsWith('_CERT') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_')
  );
}

/** What to do about a TLS failure: the server may speak plain http, or its certificate is not trusted. */
function tlsAdvice(url: string, code: string): string {
  const { origin, protocol, host } = new URL(url);
  if (
    code === 'EPROTO' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'
  ) {
    const plain = protocol === 'https:' ? `; did you mean http://${host}?` : '.';
    return `${origin} does not speak https (the TLS handshake failed: ${code})${plain}`;
  }
  return `The TLS certificate of ${origin} is not trusted (${code}): fix the server's certificate, or give Node its CA (NODE_EXTRA_CA_CERTS=/path/ca.pem).`;
}

/** The system error code under a fetch failure (undici wraps it in `cause`, sometimes twice). */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    // The fetch standard's blocked ports ("bad port") carry no code.
    if ((current as { message?: unknown }).message === 'bad port') return 'ERR_SOCKET_BAD_PORT';
    const errors = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: string; message?: string } | undefined;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}

/**
 * Why a fetch failed, typed: the caller's abort as it is, a host or port that is not there and
 * a TLS mismatch at once (retrying will not help), anything else transient (retried).
 */
export function fetchFailure(
  error: unknown,
  request: { url: string; what: string },
  attempt: { timeoutMs: number; timedOut: boolean; secrets: readonly string[] },
): unknown {
  const { timedOut, secrets } = attempt;
  if (error instanceof AuthError) return error;
  const { origin, port, hostname } = new URL(request.url);
  const code = networkCode(error);
  if (!timedOut && code && unreachable.has(code)) {
    // A misspelt host or a wrong port: retrying will not help, and the user should know now.
    return new AuthError(
      ErrorCode.SERVER_UNAVAILABLE,
      code === 'ERR_SOCKET_BAD_PORT'
        ? `Could not reach ${origin}: port ${port} is not one a client may connect to (fetch blocks it). Check the port in the URL.`
        : `Could not reach ${origin} (${code}): check the host name and port.`,
      { cause: error, detail: { code, hostname } },
    );
  }
  if (!timedOut && code && isTlsFailure(code)) {
    // A protocol mismatch or an untrusted certificate: the next attempt fails the same way.
    return new AuthError(ErrorCode.SERVER_UNAVAILABLE, tlsAdvice(request.url, code), {
      cause: error,
    });
  }
  const reason = timedOut
    ? `no answer within ${attempt.timeoutMs / 1000} s`
    : redact(describeNetworkError(error), secrets);
  return markTransient(
    new AuthError(
      timedOut ? ErrorCode.TIMEOUT : ErrorCode.SERVER_UNAVAILABLE,
      `The ${request.what} request to ${origin} failed: ${reason}.`,
      { cause: error },
    ),
  );
}
