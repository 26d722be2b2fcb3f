#!/usr/bin/env node
// Entry point of the `centaur` command: the compiled CLI (built by `npm run build`).
import '../dist/cli/centaur.js';
