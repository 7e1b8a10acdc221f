import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function run(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('oidc-auth-mock-server bin', () => {
  it('prints its URL first, serves with the given options, and stops on SIGTERM', async () => {
    const child = run(['--access-ttl', '7', '--interval', '1', '--auto-approve', '0']);
    const lines = createInterface({ input: child.stdout });
    const [url] = (await once(lines, 'line')) as [string];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const device = (await (await fetch(`${url}/auth/v2/device`, { method: 'POST' })).json()) as {
      device_code: string;
      interval: number;
    };
    expect(device.interval).toBe(1);
    const token = await fetch(`${url}/auth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({ 'device-code': device.device_code }),
    });
    const body = (await token.json()) as { expires: number };
    expect(body.expires - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(7);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it("--client lists the OpenID Provider's clients (a secret after the colon); others are refused", async () => {
    const child = run(['--client', 'app', '--client', 'svc:pw:with-colon']);
    const lines = createInterface({ input: child.stdout });
    const [url] = (await once(lines, 'line')) as [string];
    const cc = (id: string, secret: string) =>
      fetch(`${url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: id,
          client_secret: secret,
        }),
      });
    expect((await cc('svc', 'pw:with-colon')).status).toBe(200);
    expect((await cc('stranger', 'x')).status).toBe(401);
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('exits 2 with usage on an unknown option', async () => {
    const child = run(['--bogus']);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--bogus'/);
    expect(stderr).toContain('Usage: oidc-auth-mock-server');
  });
});
