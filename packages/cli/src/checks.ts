import {
  AuthError,
  ErrorCode,
  isAuthError,
  isLoopbackHost,
  printable,
  type Token,
  type TokenManager,
} from '@oidc-auth/core';
import type { Io, Values } from './args.js';
import { terminal } from './display.js';
import { type Answer, get, jsonOf } from './http-get.js';
import { label, managerFor, type Server } from './server.js';

/** Whether the server accepts a token now: a real request to its userinfo route. */
export interface Check {
  accepted: boolean | undefined;
  user?: string;
  why?: string;
  /** The session is over: the refresh token was refused or has expired. */
  ended?: boolean;
  /** Nothing could be tried here (an entry whose client or secret this command lacks). */
  unchecked?: boolean;
}

/**
 * For `status` of an expired access token: a refresh, never a login. The new token, or what
 * stands in the way: the session ended (the refresh was refused), or the server could not say.
 */
export async function renew(
  server: Server,
  values: Values,
  io: Io,
): Promise<{ token: Token } | Check> {
  if (!server.options) {
    return {
      accepted: undefined,
      unchecked: true,
      why:
        server.identity.grant === 'client_credentials'
          ? 'a service account: its program fetches its own token'
          : 'an OpenID Provider: pass --client-id to refresh here',
    };
  }
  const manager = managerFor(server, values, io, false, terminal(io.stderr, io.env));
  try {
    return { token: await manager.getToken() };
  } catch (error) {
    if (isAuthError(error) && error.code === ErrorCode.LOGIN_REQUIRED) {
      return { accepted: false, ended: true };
    }
    return {
      accepted: undefined,
      why: isAuthError(error) ? error.message : 'the refresh failed',
    };
  } finally {
    manager.close();
  }
}

/** The provider's userinfo endpoint, from its discovery document; undefined when it has none. */
async function userinfoEndpoint(issuer: string): Promise<string | undefined> {
  const res = await get(`${issuer}/.well-known/openid-configuration`, {});
  if (res.status !== 200) return undefined;
  const endpoint = jsonOf(res).userinfo_endpoint;
  if (typeof endpoint !== 'string') return undefined;
  const url = new URL(endpoint);
  // The token goes there: only over https, or to this machine.
  return url.protocol === 'https:' || isLoopbackHost(url.hostname) ? url.href : undefined;
}

/**
 * Whether an OpenID Provider accepts the token: a userinfo request, with a DPoP proof for a
 * DPoP-bound token (and once more with the provider's nonce when it asks for one).
 */
async function checkWithProvider(
  server: Server,
  token: Token,
  manager: TokenManager,
): Promise<Check> {
  try {
    const endpoint = await userinfoEndpoint(server.identity.server);
    if (!endpoint) return { accepted: undefined, why: 'the provider has no userinfo endpoint' };
    const ask = async () => {
      const auth = manager.dpop
        ? await manager.authHeaders('GET', endpoint)
        : { authorization: `${token.token_type} ${token.access_token}` };
      return get(endpoint, {
        authorization: auth.authorization,
        ...(auth.dpop ? { dpop: auth.dpop } : {}),
      });
    };
    let res = await ask();
    if (res.status === 401 && manager.dpopAnswer(endpoint, res.headers)) res = await ask();
    if (res.status === 401) return { accepted: false };
    if (res.status !== 200)
      return { accepted: undefined, why: `userinfo answered HTTP ${res.status}` };
    return accepted(res);
  } catch {
    return { accepted: undefined, why: 'the provider could not be reached' };
  }
}

/** A userinfo answer that accepted the token, with who it names. */
function accepted(res: Answer): Check {
  const body = jsonOf(res);
  const user = [body.preferred_username, body.email, body.sub].find((v) => typeof v === 'string');
  return { accepted: true, ...(user ? { user: printable(String(user)) } : {}) };
}

/** Asks the server whether it accepts `token`: py-oidc-auth's userinfo route, or the provider's. */
export async function check(server: Server, token: Token, manager?: TokenManager): Promise<Check> {
  if (!server.base) {
    return manager
      ? checkWithProvider(server, token, manager)
      : { accepted: undefined, why: 'an OpenID Provider' };
  }
  const authorization = `${token.token_type} ${token.access_token}`;
  const userinfo = (base: string) => get(`${base}/auth/v2/userinfo`, { authorization });
  try {
    const res = await userinfo(server.base);
    if (res.status === 401) return { accepted: false };
    if (isUserinfo(res)) return accepted(res);
    // Not py-oidc-auth's userinfo under the path given (an API's answer, or a 404): the routes
    // may be at the server's root, where the token is stored anyway.
    const { origin, pathname } = new URL(server.base);
    if (pathname !== '/' && pathname !== '') {
      const root = await userinfo(origin);
      if (isUserinfo(root)) {
        const why = `the py-oidc-auth routes answer at ${origin}, not under ${printable(pathname)}: give ${origin} as the host`;
        return { ...accepted(root), why };
      }
    }
    if (res.status < 200 || res.status > 299)
      return { accepted: undefined, why: `the server has no userinfo route (HTTP ${res.status})` };
    return {
      accepted: undefined,
      why: `${printable(server.base)}/auth/v2/userinfo is not a userinfo route (no sub)`,
    };
  } catch {
    return { accepted: undefined, why: 'the server could not be reached' };
  }
}

/** A userinfo answer names its user by `sub` (OpenID Connect Core §5.3.2). */
function isUserinfo(res: Answer): boolean {
  return res.status >= 200 && res.status <= 299 && typeof jsonOf(res).sub === 'string';
}

/** Who logged in, from the verified ID token (an OpenID Provider's login); undefined if unknown. */
export async function userOf(manager: TokenManager): Promise<string | undefined> {
  const claims = await manager.claims().catch(() => undefined);
  const user = [claims?.email, claims?.preferred_username, claims?.sub].find(
    (value) => typeof value === 'string' && value !== '',
  );
  return user === undefined ? undefined : printable(String(user));
}

/** A token the server accepts: the stored one, or — when the server refuses it — a recovered one. */
export async function verified(manager: TokenManager, server: Server, token: Token) {
  let result = await check(server, token, manager);
  if (result.accepted !== false) return { token, result };
  const recovered = await manager.recover(token.access_token);
  result = await check(server, recovered, manager);
  if (result.accepted === false) {
    throw new AuthError(
      ErrorCode.SERVER_ERROR,
      `The server at ${label(server)} refuses even a fresh token; check with its operator, then run: npx --no -- oidc-auth login ${printable(server.base ?? server.identity.server)}${server.identity.clientId ? ` --client-id ${printable(server.identity.clientId)}` : ''} --force`,
    );
  }
  return { token: recovered, result };
}
