// The one-command demo: a mock py-oidc-auth server with short token lifetimes, one device login,
// then axios, ky, got and fetch sharing one TokenManager while tokens expire and the server
// revokes everything once. Unattended (no terminal on stdin, or --auto-approve) it approves by itself.
import { parseArgs } from 'node:util';
import { oidcAuth } from '@oidc-auth/axios';
import { type DeviceCodeEvent, MemoryTokenStore, TokenManager } from '@oidc-auth/core';
import { oidcFetch } from '@oidc-auth/fetch';
import { withOidc as gotOidc } from '@oidc-auth/got';
import { withOidc as kyOidc } from '@oidc-auth/ky';
import { startMockServer } from '@oidc-auth/mock-server';
import axios from 'axios';
import got from 'got';
import ky from 'ky';

const { values } = parseArgs({
  options: {
    'auto-approve': { type: 'boolean' },
    seconds: { type: 'string', default: '20' },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) {
  console.error('demo: --seconds needs a positive number');
  process.exit(2);
}
const autoApprove = values['auto-approve'] === true || !process.stdin.isTTY;
const live = Boolean(process.stdout.isTTY);
const color = live && !('NO_COLOR' in process.env);
const b = (text: string) => (color ? `\x1b[1m${text}\x1b[22m` : text);

const server = await startMockServer({ accessTtl: 4, refreshTtl: 3600, interval: 1 });
let deviceFlows = 0;
let refreshes = 0;

/** "1 refresh", "2 refreshes". */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function onDeviceCode(event: DeviceCodeEvent): void {
  deviceFlows++;
  const lines = [
    '',
    `Device login #${deviceFlows}: open ${b(event.uri)}`,
    `and click Approve (code ${b(event.userCode)}).`,
  ];
  if (autoApprove) {
    lines.push('(unattended: approving by itself)');
    setTimeout(() => server.approve(event.userCode), 200).unref();
  } else {
    lines.push('(no browser here? run the demo with --auto-approve and it approves by itself)');
  }
  console.log(`${lines.join('\n')}\n`);
}

const manager = new TokenManager({
  host: server.url,
  store: new MemoryTokenStore(),
  onDeviceCode,
  loginTimeout: 300,
});
manager.on('refresh', () => {
  refreshes++;
});

console.log(`Mock py-oidc-auth server on ${server.url} (access tokens live 4 s).`);
await manager.getToken();
console.log(`Logged in. Driving axios, ky, got and fetch for ${seconds} s…\n`);

type Stat = { requests: number; ok: number; failed: number; lastError?: string };
const adapters = ['axios', 'ky', 'got', 'fetch'] as const;
type Adapter = (typeof adapters)[number];
const stats = Object.fromEntries(
  adapters.map((name) => [name, { requests: 0, ok: 0, failed: 0 }]),
) as Record<Adapter, Stat>;

const axiosApi = axios.create({ baseURL: `${server.url}/api/axios/` });
oidcAuth({ manager })(axiosApi);
const kyApi = ky
  .extend({ prefixUrl: `${server.url}/api/ky/`, retry: 0 })
  .extend(kyOidc({ manager }));
const gotApi = got.extend(
  { prefixUrl: `${server.url}/api/got/`, retry: { limit: 0 } },
  gotOidc({ manager }),
);
const fetchApi = oidcFetch({ manager });

const send: Record<Adapter, (i: number) => Promise<unknown>> = {
  axios: (i) => (i % 2 ? axiosApi.get(`items/${i}`) : axiosApi.post('items', { i })),
  ky: (i) => (i % 2 ? kyApi.get(`items/${i}`).json() : kyApi.post('items', { json: { i } }).json()),
  got: (i) =>
    i % 2 ? gotApi.get(`items/${i}`).json() : gotApi.post('items', { json: { i } }).json(),
  fetch: async (i) => {
    const res = await fetchApi(`${server.url}/api/fetch/items${i % 2 ? `/${i}` : ''}`, {
      method: i % 2 ? 'GET' : 'POST',
      ...(i % 2
        ? {}
        : { body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  },
};

const started = Date.now();
const deadline = started + seconds * 1000;
let revoked = false;

async function worker(name: Adapter): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    stats[name].requests++;
    try {
      await send[name](i);
      stats[name].ok++;
    } catch (error) {
      stats[name].failed++;
      stats[name].lastError = (error as Error).message;
    }
  }
}

function recoveries(name: Adapter): number {
  let calls = 0;
  for (const [path, entry] of Object.entries(server.stats().paths)) {
    if (path.startsWith(`/api/${name}/`)) calls += entry.calls;
  }
  return Math.max(0, calls - stats[name].requests);
}

function table(): string {
  // requests = ok + failed + in flight (sent, not answered yet when the table was drawn).
  const rows = [['adapter', 'requests', 'ok', 'failed', 'in flight', '401 recovered']];
  for (const name of adapters) {
    const s = stats[name];
    const inFlight = s.requests - s.ok - s.failed;
    rows.push([
      name,
      String(s.requests),
      String(s.ok),
      String(s.failed),
      String(inFlight),
      String(recoveries(name)),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const lines = rows.map((r, n) => {
    const line = r.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
    return n === 0 ? b(line) : line;
  });
  const elapsed = Math.min(seconds, (Date.now() - started) / 1000).toFixed(1);
  lines.push(
    '',
    `refreshes: ${refreshes}   device logins: ${deviceFlows}   elapsed: ${elapsed}/${seconds} s${revoked ? '   (server revoked everything once)' : ''}`,
  );
  return lines.join('\n');
}

let drawn = 0;
function draw(): void {
  const text = table();
  if (live) {
    process.stdout.write(`${drawn ? `\x1b[${drawn}F\x1b[J` : ''}${text}\n`);
    drawn = text.split('\n').length;
  }
}

const ticker = setInterval(() => (live ? draw() : console.log(`${table()}\n`)), live ? 250 : 5000);
const revokeTimer = setTimeout(
  () => {
    revoked = true;
    drawn = 0;
    server.revokeAll();
  },
  (seconds * 1000) / 2,
);

await Promise.all(adapters.flatMap((name) => [worker(name), worker(name)]));
clearInterval(ticker);
clearTimeout(revokeTimer);
drawn = live ? drawn : 0;
draw();
if (!live) console.log(table());

const failed = adapters.reduce((n, name) => n + stats[name].failed, 0);
const idle = adapters.filter((name) => stats[name].ok === 0);
console.log('');
if (failed === 0 && idle.length === 0) {
  console.log(
    `${b('Summary')}: every request succeeded across ${count(refreshes, 'refresh', 'refreshes')}, ${count(
      adapters.reduce((n, a) => n + recoveries(a), 0),
      '401 recovery',
      '401 recoveries',
    )} and ${count(deviceFlows, 'device login', 'device logins')}.`,
  );
} else {
  console.log(
    `${b('Summary')}: ${failed} requests failed${idle.length ? `; no success for ${idle.join(', ')}` : ''}.`,
  );
  for (const name of adapters) {
    if (stats[name].lastError) console.log(`  ${name}: ${stats[name].lastError}`);
  }
}
manager.close();
await server.close();
process.exitCode = failed === 0 && idle.length === 0 ? 0 : 1;
