#!/usr/bin/env node
import { main } from './main.js';

process.once('SIGINT', () => {
  // Ctrl-C during a login: clear the spinner line and leave with the conventional code.
  process.stderr.write('\r\x1b[K');
  process.exit(130);
});
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
