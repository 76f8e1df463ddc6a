// Entry point of the `tandem` command (compiled to dist/src/cli/main.js, launched by
// bin/tandem.js). The program is program.ts (its commands in commands/); this file only runs it
// and sets the exit code.
// process.exitCode rather than process.exit(): stdout is flushed, and `tandem run` keeps the
// process alive on its servers after runDaemon() returns.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
