import { AuthError, ErrorCode } from '@oidc-auth/core';

/**
 * What the store needs from a Redis connection: one command at a time, and a subscription.
 * The store builds one from an `ioredis` or `redis` (node-redis) client by itself; implement it
 * to use another client.
 */
export interface RedisDriver {
  /**
   * Sends one command, e.g. `['EVAL', script, '2', key1, key2, arg]`, and resolves with the raw
   * reply (strings, integers, arrays, null). `key` is the command's first key, for clients
   * that route by key (clusters).
   */
  command(args: readonly string[], key: string): Promise<unknown>;
  /**
   * Listens on a pub/sub channel until the returned function is called. May open a
   * connection of its own (a connection that subscribes cannot send other commands). When
   * `signal` aborts first (Redis did not answer in time, or the store was closed), give up at
   * once: close that connection, so that nothing keeps reconnecting in the background.
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    signal?: AbortSignal,
  ): Promise<() => Promise<void>>;
  /**
   * Sends `['WAIT', replicas, timeout]` on the connection that wrote `key` and resolves with how
   * many replicas acknowledged. Optional: without it, `command(args, key)` is used, which is
   * right for every client that routes by key or has one primary.
   */
  wait?(args: readonly string[], key: string): Promise<number>;
}

/** An `ioredis` client: `Redis` (standalone or Sentinel) or `Cluster`. */
interface IoRedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  /** `Cluster` only: its nodes' clients. */
  nodes?(role: 'master'): IoRedisLike[];
  duplicate(): IoRedisLike;
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

type Listener = (message: string, channel: string) => void;

/** A node-redis client from `createClient`. */
interface NodeRedisClientLike {
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(): NodeRedisClientLike;
  connect(): Promise<unknown>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  /** node-redis 5: closes at once, without waiting for replies. */
  destroy?(): void;
  /** node-redis 4: the same. */
  disconnect?(): Promise<unknown>;
}

/** A node-redis cluster from `createCluster`. */
interface NodeRedisClusterLike {
  sendCommand(key: string, isReadonly: boolean, args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  getSlotMaster(slot: number): unknown;
}

/** A node-redis Sentinel client from `createSentinel`. */
interface NodeRedisSentinelLike {
  sendCommand(isReadonly: boolean, args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  getSentinelNode(): unknown;
}

/**
 * A connected Redis client, as the user made it: an `ioredis` `Redis` or `Cluster`, a
 * node-redis client, cluster or Sentinel client — or a {@link RedisDriver} of your own.
 */
export type RedisClient = object;

function has(value: object, name: string): boolean {
  return typeof (value as Record<string, unknown>)[name] === 'function';
}

/** Picks the driver for the client the user gave. */
export function driverFor(client: RedisClient): RedisDriver {
  if (typeof client !== 'object' || client === null) {
    throw invalidClient();
  }
  if (has(client, 'call') && has(client, 'duplicate')) return ioredisDriver(client as IoRedisLike);
  if (has(client, 'sendCommand')) {
    if (has(client, 'getSlotMaster')) {
      const cluster = client as NodeRedisClusterLike;
      return sharedSubscriber(cluster, (args, key) => cluster.sendCommand(key, false, args));
    }
    if (has(client, 'getSentinelNode')) {
      const sentinel = client as NodeRedisSentinelLike;
      return sharedSubscriber(sentinel, (args) => sentinel.sendCommand(false, args));
    }
    if (has(client, 'duplicate')) return nodeRedisDriver(client as NodeRedisClientLike);
  }
  if (has(client, 'command') && has(client, 'subscribe')) return client as RedisDriver;
  throw invalidClient();
}

function invalidClient(): AuthError {
  return new AuthError(
    ErrorCode.INVALID_OPTIONS,
    'client must be a connected Redis client: an ioredis Redis or Cluster, a node-redis client, cluster or Sentinel (createClient, createCluster, createSentinel), or a RedisDriver.',
  );
}

function ioredisDriver(client: IoRedisLike): RedisDriver {
  const nodes = client.nodes;
  return {
    command: ([name, ...args]) => client.call(name as string, ...args),
    // An ioredis Cluster sends a command without keys to any node, but WAIT counts the writes
    // of its own connection: ask every primary (one connection each) and keep the least.
    ...(typeof nodes === 'function'
      ? {
          async wait([name, ...args]: readonly string[]) {
            const answers = await Promise.all(
              nodes.call(client, 'master').map((node) => node.call(name as string, ...args)),
            );
            return Math.min(...answers.map(Number));
          },
        }
      : {}),
    async subscribe(channel, onMessage, signal) {
      // A subscribed connection can do nothing else: a duplicate of the user's, ours to close.
      const subscriber = client.duplicate();
      // Our connection: its errors (Redis restarting…) are the client's to retry, never printed.
      subscriber.on('error', () => undefined);
      subscriber.on('message', (from, message) => {
        if (from === channel) onMessage(message);
      });
      // A subscriber has nothing to flush: closing it never waits for a Redis that is down.
      const close = async () => subscriber.disconnect();
      signal?.addEventListener('abort', close, { once: true });
      try {
        await subscriber.subscribe(channel);
      } catch (error) {
        await close();
        throw error;
      } finally {
        signal?.removeEventListener('abort', close);
      }
      if (signal?.aborted) await close();
      return close;
    },
  };
}

function nodeRedisDriver(client: NodeRedisClientLike): RedisDriver {
  return {
    command: (args) => client.sendCommand(args),
    async subscribe(channel, onMessage, signal) {
      const subscriber = client.duplicate();
      // Our connection: without a listener, its errors would be thrown; the client reconnects.
      subscriber.on('error', () => undefined);
      // A subscriber has nothing to flush: closing it never waits for a Redis that is down.
      const close = async () => {
        if (subscriber.destroy) subscriber.destroy();
        else
          await (subscriber.disconnect?.() ?? subscriber.close?.() ?? subscriber.quit?.())?.catch(
            () => undefined,
          );
      };
      const abandon = () => void close().catch(() => undefined);
      signal?.addEventListener('abort', abandon, { once: true });
      try {
        await subscriber.connect();
        await subscriber.subscribe(channel, (message) => onMessage(message));
      } catch (error) {
        await close().catch(() => undefined);
        throw error;
      } finally {
        signal?.removeEventListener('abort', abandon);
      }
      if (signal?.aborted) await close();
      return close;
    },
  };
}

/** node-redis clusters and Sentinel clients keep a pub/sub connection of their own. */
function sharedSubscriber(
  client: NodeRedisClusterLike | NodeRedisSentinelLike,
  command: RedisDriver['command'],
): RedisDriver {
  return {
    command,
    async subscribe(channel, onMessage) {
      const listener: Listener = (message) => onMessage(message);
      await client.subscribe(channel, listener);
      return async () => {
        await client.unsubscribe(channel, listener).catch(() => undefined);
      };
    },
  };
}
