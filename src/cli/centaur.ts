/** The executable entry point: runs the CLI with the process arguments and exits with its code. */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a native library left a handle open; normal runs end before this fires.
setTimeout(() => process.exit(code), 2000).unref();
