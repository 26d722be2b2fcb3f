/** The executable entry point: runs the CLI with the process arguments and exits with its code. */
// First: sizes libuv's thread pool before anything uses it.
import '../runtime/threadpool.js';
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a native library left a handle open; normal runs end before this fires.
setTimeout(() => process.exit(code), 2000).unref();
