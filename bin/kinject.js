#!/usr/bin/env node
// The `kinject` command: loads the compiled CLI (run `npm run build` first in a checkout).
import '../dist/src/cli.js';
