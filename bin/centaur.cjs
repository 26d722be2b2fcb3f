#!/usr/bin/env node
// Entry point of the `centaur` command. CommonJS on purpose: it runs before anything touches
// libuv's thread pool, so the pool size below takes effect. Decodes (sharp), file reads and
// onnxruntime's async runs each hold a pool thread while they work; with Node's default of 4 a
// running batch starves the decoders and decode stops overlapping inference. A
// UV_THREADPOOL_SIZE set by the user wins.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '8';
import('../dist/cli/centaur.js').catch((error) => {
  process.stderr.write(`centaur: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
