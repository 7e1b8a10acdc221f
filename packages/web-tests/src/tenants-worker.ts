/**
 * A Worker serving two tenants, each with its own client of one provider: one manager per
 * tenant, made once per isolate, each logging its users in by redirect. Pending logins live in
 * each manager's memory (workerd has no sessionStorage). The test names the tenant and the
 * step in the request.
 */
import { isAuthError, MemoryTokenStore, TokenManager } from '@oidc-auth/core';

interface Step {
  tenant: 'a' | 'b';
  /** The tenants' provider and clients. */
  issuer: string;
  clients: { a: string; b: string };
  step: 'login' | 'callback' | 'token';
  /** The callback URL the browser came back to (step `callback`). */
  url?: string;
}

const redirectUri = 'http://localhost:53100/callback';
/** One store for both tenants: their sessions are apart by identity. */
const store = new MemoryTokenStore();
const managers = new Map<string, TokenManager>();

function managerOf({ tenant, issuer, clients }: Step): TokenManager {
  let manager = managers.get(tenant);
  if (!manager) {
    manager = new TokenManager({ issuer, clientId: clients[tenant], store, interactive: false });
    managers.set(tenant, manager);
  }
  return manager;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const step = (await request.json()) as Step;
    const manager = managerOf(step);
    try {
      if (step.step === 'login') {
        const url = await manager.loginByRedirect({ redirectUri, navigate: () => undefined });
        return Response.json({ url });
      }
      if (step.step === 'callback') {
        const done = await manager.handleRedirect(step.url ?? '');
        return Response.json({ accessToken: done?.token.access_token ?? null });
      }
      return Response.json({ accessToken: (await manager.getToken()).access_token });
    } catch (error) {
      return Response.json({
        error: isAuthError(error) ? error.code : String(error),
        message: (error as Error).message,
        stack: (error as Error).stack,
      });
    }
  },
};
