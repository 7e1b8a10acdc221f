// A real redis-server (Debian's package) on a free loopback port, no persistence. Used by the
// global setup (one shared server) and by the failure tests (servers they stop, pause, restart).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  readonly pid: number;
  /** SIGSTOP: the server stops answering, connections stay open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops the server (its data is gone: no persistence). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

/** Fails loudly when redis-server is missing: these tests never skip. */
export function requireRedisServer(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'redis-server is not installed; the Redis tests need a real server. On Debian: apt-get install -y redis-server (.ci/run does this).',
    );
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts a server; `cluster: true` makes it a one-node Redis Cluster owning every slot
 * (`cluster: 'node'`: a cluster node owning none, for `startCluster`); `sentinelOf: PORT` makes
 * it a Sentinel watching the server on PORT as master `mymaster` (`quorum`, default 1;
 * `downAfterMs`, how long the master may be silent before it is called down, default Redis's
 * 30 s); `replicaOf: PORT` makes it a replica of that server.
 */
export async function startRedis(
  options: {
    cluster?: boolean | 'node';
    sentinelOf?: number;
    quorum?: number;
    downAfterMs?: number;
    replicaOf?: number;
  } = {},
): Promise<RedisServer> {
  requireRedisServer();
  const dir = await mkdtemp(join(tmpdir(), 'oidc-auth-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      port ||= await freePort();
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(options.cluster
          ? [
              '--cluster-enabled',
              'yes',
              '--cluster-announce-ip',
              '127.0.0.1',
              '--cluster-config-file',
              join(dir, `nodes-${port}.conf`),
            ]
          : []),
        ...(options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : []),
      ];
      if (options.sentinelOf) {
        // A Sentinel reads (and rewrites) a configuration file of its own.
        const config = join(dir, `sentinel-${port}.conf`);
        await writeFile(
          config,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${dir}`,
            `sentinel monitor mymaster 127.0.0.1 ${options.sentinelOf} ${options.quorum ?? 1}`,
            ...(options.downAfterMs
              ? [
                  `sentinel down-after-milliseconds mymaster ${options.downAfterMs}`,
                  `sentinel failover-timeout mymaster ${Math.max(1000, options.downAfterMs * 4)}`,
                ]
              : []),
            '',
          ].join('\n'),
        );
        args.splice(0, args.length, config, '--sentinel');
      }
      const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const ready = new Promise<boolean>((resolve) => {
        started.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (/Ready to accept connections|\+monitor master/.test(output)) resolve(true);
        });
        started.once('exit', () => resolve(false));
      });
      if (await ready) {
        child = started;
        break;
      }
      // Another program took the port between our check and the server's bind: pick again.
      if (attempt === 5) throw new Error(`redis-server did not start:\n${output}`);
      port = 0;
    }
    if (options.cluster === true) await assignSlots(port);
  };

  await launch();
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await once(running, 'exit');
  };
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.pid ?? 0;
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    stop,
    async start() {
      await launch();
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };

  async function assignSlots(at: number): Promise<void> {
    const cli = (...args: string[]) =>
      execFileSync('redis-cli', ['-p', String(at), ...args], { encoding: 'utf8' }).trim();
    cli('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    // Wait for the node to call its cluster healthy (a condition, checked once per round trip).
    for (let round = 0; !cli('CLUSTER', 'INFO').includes('cluster_state:ok'); round++) {
      if (round > 10_000) throw new Error('the one-node cluster never became ready');
    }
  }
}
