/**
 * The public API of `@oidc-auth/store-conformance`.
 * @module @oidc-auth/store-conformance
 */
import assert from 'node:assert/strict';
import type { StoredToken, StoreEvent, Token, TokenStore } from '@oidc-auth/core';

/** A store to test, made fresh (and empty) for each case. */
export interface StoreUnderTest {
  store: TokenStore;
  /**
   * Opens a second store object on the same backend (the same file, the same Redis keys), as
   * another process would. Stores shared between processes give it; the cross-process cases
   * run only then.
   */
  peer?: () => TokenStore | Promise<TokenStore>;
  /** Cleans up after the case (close connections, delete files). */
  close?: () => Promise<void> | void;
}

/** Options of {@link storeConformanceCases}. */
export interface ConformanceOptions {
  /**
   * The store is shared by processes (a file, Redis): run the cases with a second store object
   * on the same backend. `make` must then give `peer`.
   * @default false
   */
  shared?: boolean;
  /**
   * The store pushes `changed` events to other store objects on the same backend (a store
   * shared by many processes should: they then adopt a new token without polling).
   * @default false
   */
  pushesChanges?: boolean;
}

/** One case: a name and an async function that throws (an `AssertionError`) on failure. */
export interface ConformanceCase {
  name: string;
  run: () => Promise<void>;
}

/**
 * What every `TokenStore` must do, as a list of cases for any test runner: register each with
 * your runner's `test`/`it`. The memory, file and Redis stores of oidc-auth pass them all.
 *
 * @example
 * // vitest, jest or node:test alike
 * for (const { name, run } of storeConformanceCases(async () => ({ store: new MyStore() }))) {
 *   test(name, run);
 * }
 */
export function storeConformanceCases(
  make: () => Promise<StoreUnderTest>,
  options: ConformanceOptions = {},
): ConformanceCase[] {
  const now = () => Math.floor(Date.now() / 1000);
  const token = (access: string, overrides: Partial<Token> = {}): Token => ({
    access_token: access,
    token_type: 'Bearer',
    expires: now() + 3600,
    refresh_token: `rt_${access}`,
    refresh_expires: now() + 7200,
    scope: 'openid',
    headers: { Authorization: `Bearer ${access}` },
    ...overrides,
  });
  const a = 'https://a.example.org';
  const b = 'https://b.example.org';
  /**
   * Session keys (`SessionIdentity.key` in core): one issuer, sessions that differ only after
   * `#` — the client (its case too, and characters that need encoding), the grant, the scopes,
   * DPoP — and a py-oidc-auth server's plain key on the same origin. Each is its own entry.
   */
  const issuer = 'https://id.example.org/realms/x';
  const server = 'https://id.example.org';
  const sessions = [
    server,
    `${issuer}#client_id=app&scope=offline_access+openid`,
    `${issuer}#client_id=App&scope=offline_access+openid`,
    `${issuer}#client_id=other&scope=offline_access+openid`,
    `${issuer}#client_id=app&grant=client_credentials`,
    `${issuer}#client_id=app&scope=offline_access+openid&dpop=true`,
    `${issuer}#client_id=app&scope=email+offline_access+openid`,
    `${issuer}#client_id=a%2Fb%2Bc%3Dd%25e+f&scope=openid`,
  ];

  /** Holds the lock through `first` and checks that `second` gets in only after it is out. */
  async function exclusive(first: TokenStore, second: TokenStore): Promise<void> {
    const events: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const holding = first.withLock(a, async () => {
      events.push('first in');
      entered();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      events.push('first out');
    });
    await inside;
    const waiting = second.withLock(a, async () => {
      events.push('second in');
    });
    // The second may try as often as it likes: it gets in only after the first is out.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(events, ['first in']);
    release();
    await Promise.all([holding, waiting]);
    assert.deepEqual(events, ['first in', 'first out', 'second in']);
  }

  async function withStore(fn: (under: StoreUnderTest) => Promise<void>): Promise<void> {
    const under = await make();
    try {
      await fn(under);
    } finally {
      await under.close?.();
    }
  }

  const cases: ConformanceCase[] = [
    {
      name: 'answers undefined for a host it does not know',
      run: () =>
        withStore(async ({ store }) => {
          assert.equal(await store.get(a), undefined);
          assert.deepEqual(await store.hosts(), []);
        }),
    },
    {
      name: 'keeps what is put, with the time it was stored, one entry per host',
      run: () =>
        withStore(async ({ store }) => {
          const before = Date.now() / 1000;
          await store.put(a, token('one'));
          await store.put(b, token('two'));
          await store.put(a, token('three'));
          const stored = (await store.get(a)) as StoredToken;
          assert.equal(stored.token.access_token, 'three');
          assert.equal(stored.token.refresh_token, 'rt_three');
          assert.equal(stored.token.token_type, 'Bearer');
          assert.ok(stored.stored_at >= Math.floor(before) - 1, 'stored_at is the time of put');
          assert.ok(stored.stored_at <= Date.now() / 1000 + 1, 'stored_at is the time of put');
          assert.equal((await store.get(b))?.token.access_token, 'two');
          assert.deepEqual((await store.hosts()).sort(), [a, b]);
        }),
    },
    {
      name: 'keeps a token whole: its ID token and its DPoP key, and drops them when the next token has none',
      run: () =>
        withStore(async ({ store }) => {
          const key = {
            kty: 'EC',
            crv: 'P-256',
            x: 'x-coordinate',
            y: 'y-coordinate',
            d: 'private',
          };
          await store.put(
            a,
            token('bound', { token_type: 'DPoP', id_token: 'eyJ.id.token', dpop_key: key }),
          );
          const stored = (await store.get(a)) as StoredToken;
          assert.equal(stored.token.token_type, 'DPoP');
          assert.equal(stored.token.id_token, 'eyJ.id.token');
          assert.deepEqual(stored.token.dpop_key, key);
          await store.put(a, token('plain'));
          const next = (await store.get(a)) as StoredToken;
          assert.equal(
            next.token.id_token,
            undefined,
            'an old ID token is not carried onto a new token',
          );
          assert.equal(
            next.token.dpop_key,
            undefined,
            'an old DPoP key is not carried onto a new token',
          );
        }),
    },
    {
      name: 'keeps sessions of one issuer apart: keys that differ only after "#" (client, its case, grant, scopes, DPoP) are separate entries, listed exactly as given',
      run: () =>
        withStore(async ({ store }) => {
          for (const [i, key] of sessions.entries()) await store.put(key, token(`session-${i}`));
          for (const [i, key] of sessions.entries()) {
            assert.equal(
              (await store.get(key))?.token.access_token,
              `session-${i}`,
              `the entry of ${key}`,
            );
          }
          assert.deepEqual((await store.hosts()).sort(), [...sessions].sort());
          const [, mine, , other] = sessions as [string, string, string, string];
          assert.equal(await store.remove(mine), true);
          assert.equal(await store.get(mine), undefined);
          assert.equal((await store.get(other))?.token.access_token, 'session-3');
          assert.equal((await store.get(server))?.token.access_token, 'session-0');
          await store.withLock(other, async (entry) => {
            await entry.put(token('other-again'));
          });
          assert.equal(await store.get(mine), undefined, 'a write under one key made no other');
        }),
    },
    {
      name: "keeps the identity a token is recorded with (a manager refuses another session's token by it)",
      run: () =>
        withStore(async ({ store }) => {
          const key = sessions[1] as string;
          await store.put(key, token('recorded', { identity: key }));
          assert.equal((await store.get(key))?.token.identity, key);
        }),
    },
    {
      name: 'hands out copies: changing one does not change the store',
      run: () =>
        withStore(async ({ store }) => {
          await store.put(a, token('one'));
          const first = (await store.get(a)) as StoredToken;
          first.token.access_token = 'changed';
          assert.equal((await store.get(a))?.token.access_token, 'one');
        }),
    },
    {
      name: 'removes one host and clears them all',
      run: () =>
        withStore(async ({ store }) => {
          await store.put(a, token('one'));
          await store.put(b, token('two'));
          assert.equal(await store.remove(a), true);
          assert.equal(await store.remove(a), false);
          assert.equal(await store.get(a), undefined);
          assert.deepEqual(await store.hosts(), [b]);
          await store.clear();
          assert.deepEqual(await store.hosts(), []);
          assert.equal(await store.get(b), undefined);
        }),
    },
    {
      name: 'inside withLock, reads and writes through the handle, and returns what fn returns',
      run: () =>
        withStore(async ({ store }) => {
          await store.put(a, token('one'));
          const result = await store.withLock(a, async (entry) => {
            assert.equal(entry.signal.aborted, false);
            assert.equal((await entry.get())?.token.access_token, 'one');
            await entry.put(token('two'));
            assert.equal((await entry.get())?.token.access_token, 'two');
            return 42;
          });
          assert.equal(result, 42);
          assert.equal((await store.get(a))?.token.access_token, 'two');
        }),
    },
    {
      name: 'withLock is exclusive: a second section starts only after the first ends',
      run: () => withStore(({ store }) => exclusive(store, store)),
    },
    {
      name: 'an error inside withLock reaches the caller and releases the lock',
      run: () =>
        withStore(async ({ store }) => {
          await assert.rejects(
            store.withLock(a, async () => {
              throw new Error('inside');
            }),
            /inside/,
          );
          assert.equal(await store.withLock(a, async () => 'again'), 'again');
        }),
    },
    {
      name: 'read-modify-write under withLock loses no update (20 concurrent increments)',
      run: () =>
        withStore(async ({ store, peer }) => {
          const other = peer ? await peer() : store;
          await store.put(a, token('0'));
          const increment = (on: TokenStore) =>
            on.withLock(a, async (entry) => {
              const n = Number((await entry.get())?.token.access_token);
              await entry.put(token(String(n + 1)));
            });
          await Promise.all(
            Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? store : other)),
          );
          assert.equal((await store.get(a))?.token.access_token, '20');
        }),
    },
  ];

  const shared: ConformanceCase[] = [
    {
      name: 'a second store object on the same backend sees what the first stored and removed',
      run: () =>
        withStore(async ({ store, peer }) => {
          const other = await (peer as NonNullable<StoreUnderTest['peer']>)();
          await store.put(a, token('one'));
          assert.equal((await other.get(a))?.token.access_token, 'one');
          assert.deepEqual(await other.hosts(), [a]);
          await other.put(a, token('two'));
          assert.equal((await store.get(a))?.token.access_token, 'two');
          assert.equal(await store.remove(a), true);
          assert.equal(await other.get(a), undefined);
        }),
    },
    {
      name: 'withLock is exclusive across store objects on the same backend',
      run: () =>
        withStore(async ({ store, peer }) =>
          exclusive(store, await (peer as NonNullable<StoreUnderTest['peer']>)()),
        ),
    },
  ];

  const pushes: ConformanceCase[] = [
    {
      name: 'tells the other store objects when a token changed (no token shown in the event)',
      run: () =>
        withStore(async ({ store, peer }) => {
          const other = await (peer as NonNullable<StoreUnderTest['peer']>)();
          const seen: StoreEvent[] = [];
          let heard!: () => void;
          const changed = new Promise<void>((resolve) => {
            heard = resolve;
          });
          const stop = other.subscribe?.((event) => {
            seen.push(event);
            if (event.type === 'changed') heard();
          });
          assert.ok(stop, 'the store has subscribe()');
          try {
            // Subscribing may take a moment: put until the other object hears one.
            let round = 0;
            let done = false;
            changed.then(() => {
              done = true;
            });
            while (!done) {
              await store.put(a, token(`secret-${round++}`));
              await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 0))]);
            }
            const event = seen.find((e) => e.type === 'changed');
            assert.equal(event?.type, 'changed');
            assert.equal(event.host, a);
            assert.ok(!JSON.stringify(seen).includes('secret-'), 'no token in events');
            // A store may hand the entry out with the notice: then it is one that was stored,
            // a copy of its own each time.
            if (event.entry) {
              const entry = event.entry();
              assert.match(entry.token.access_token, /^secret-\d+$/);
              assert.notEqual(event.entry(), entry, 'a copy per call');
              assert.deepEqual(event.entry(), entry);
            }
          } finally {
            stop();
          }
        }),
    },
  ];

  pushes.push({
    name: 'names the exact session key when a session changed',
    run: () =>
      withStore(async ({ store, peer }) => {
        const other = await (peer as NonNullable<StoreUnderTest['peer']>)();
        const key = sessions[2] as string;
        let heard!: (host: string) => void;
        const changed = new Promise<string>((resolve) => {
          heard = resolve;
        });
        const stop = other.subscribe?.((event) => {
          if (event.type === 'changed') heard(event.host);
        });
        assert.ok(stop, 'the store has subscribe()');
        try {
          let done = false;
          changed.then(() => {
            done = true;
          });
          while (!done) {
            await store.put(key, token('session'));
            await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 0))]);
          }
          assert.equal(await changed, key);
        } finally {
          stop();
        }
      }),
  });

  return [
    ...cases,
    ...(options.shared ? shared.map(needsPeer(make)) : []),
    ...(options.pushesChanges ? pushes.map(needsPeer(make)) : []),
  ];
}

/** A case that needs `peer`: without one it fails and says so, never passes silently. */
function needsPeer(make: () => Promise<StoreUnderTest>): (c: ConformanceCase) => ConformanceCase {
  return (c) => ({
    name: c.name,
    run: async () => {
      const probe = await make();
      const hasPeer = typeof probe.peer === 'function';
      await probe.close?.();
      assert.ok(
        hasPeer,
        'this case needs StoreUnderTest.peer: a second store object on the same backend',
      );
      await c.run();
    },
  });
}
