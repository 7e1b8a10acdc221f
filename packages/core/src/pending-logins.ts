import type { PendingLogin, PendingLogins } from './platform-services.js';

/** Pending redirect logins in a manager's own memory (Node, workers): nobody else sees them. */
export function memoryPendingLogins(): PendingLogins {
  const logins = new Map<string, PendingLogin>();
  return {
    put: (key, login) => void logins.set(key, login),
    get: (key) => logins.get(key),
    remove: (key) => void logins.delete(key),
    purge(startedBefore) {
      const gone: PendingLogin[] = [];
      for (const [key, login] of logins) {
        if (login.startedAt >= startedBefore) continue;
        logins.delete(key);
        gone.push(login);
      }
      return gone;
    },
  };
}
