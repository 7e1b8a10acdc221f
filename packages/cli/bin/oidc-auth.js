#!/usr/bin/env node
// The command, from the build (`pnpm build`). A file of its own so that installing the
// workspace before building links the command without a warning.
import '../dist/bin.js';
