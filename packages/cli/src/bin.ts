#!/usr/bin/env node
import { main } from './main.js';

process.once('SIGINT', () => {
  // Ctrl-C during a login: clear the spinner line, say what happened, and leave with the
  // conventional code. Nothing half-written stays behind: the token file is replaced atomically.
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : '\n'}oidc-auth: cancelled.\n`);
  process.exit(130);
});
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
