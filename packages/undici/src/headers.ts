import type { AuthHeaders } from '@oidc-auth/core';

/** The header shapes undici's dispatch takes: none, a record, a flat list, or pairs. */
export type DispatchHeaders =
  | Record<string, string | string[] | undefined>
  | Iterable<[string, string | string[] | undefined]>
  | string[]
  | null
  | undefined;

const secret = /^(?:authorization|dpop)$/i;

function pushPair(out: string[], name: string, value: string | string[] | undefined): void {
  if (value === undefined || secret.test(name)) return;
  if (Array.isArray(value)) for (const one of value) out.push(name, one);
  else out.push(name, String(value));
}

/**
 * The caller's headers with ours in place of any `Authorization` or `DPoP` they had, in a new
 * object (the caller's, and the options a redirect or retry interceptor keeps, stay untouched).
 */
export function withAuth(given: DispatchHeaders, auth: AuthHeaders): NonNullable<DispatchHeaders> {
  if (given === null || given === undefined) {
    return auth.dpop
      ? { authorization: auth.authorization, dpop: auth.dpop }
      : { authorization: auth.authorization };
  }
  if (typeof (given as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const out: string[] = [];
    const list = given as Iterable<unknown>;
    if (Array.isArray(list) && (list.length === 0 || !Array.isArray(list[0]))) {
      // A flat list: name, value, name, value…
      for (let i = 0; i < list.length; i += 2) pushPair(out, String(list[i]), list[i + 1]);
    } else {
      for (const [name, value] of list as Iterable<[string, string | string[] | undefined]>) {
        pushPair(out, name, value);
      }
    }
    out.push('authorization', auth.authorization);
    if (auth.dpop) out.push('dpop', auth.dpop);
    return out;
  }
  const copy: Record<string, string | string[] | undefined> = {};
  const record = given as Record<string, string | string[] | undefined>;
  for (const name in record) if (!secret.test(name)) copy[name] = record[name];
  copy.authorization = auth.authorization;
  if (auth.dpop) copy.dpop = auth.dpop;
  return copy;
}

/** Does the request already carry an `Authorization` header (a credential the caller chose)? */
export function hasAuthorization(given: DispatchHeaders): boolean {
  if (given === null || given === undefined) return false;
  if (Array.isArray(given)) {
    if (given.length > 0 && Array.isArray(given[0])) {
      return (given as unknown as [string, unknown][]).some(([name]) =>
        /^authorization$/i.test(name),
      );
    }
    for (let i = 0; i < given.length; i += 2) {
      if (/^authorization$/i.test(String(given[i]))) return true;
    }
    return false;
  }
  if (typeof (given as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name] of given as Iterable<[string, unknown]>) {
      if (/^authorization$/i.test(name)) return true;
    }
    return false;
  }
  const record = given as Record<string, unknown>;
  for (const name in record) {
    if ((name === 'authorization' || /^authorization$/i.test(name)) && record[name] !== undefined) {
      return true;
    }
  }
  return false;
}

/** One header of an answer as undici hands it to `onResponseStart` (names in lower case). */
export function answerHeader(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
