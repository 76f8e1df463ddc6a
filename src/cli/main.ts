// Entry point of the `tandem` command (compiled to dist/src/cli/main.js, launched by
// bin/tandem.js). The program is program.ts (its commands in commands/); this file only runs it
// and sets the exit code.
// process.exitCode rather than process.exit(): stdout is flushed, and `tandem run` keeps the
// process alive on its servers after runDaemon() returns.
import { runCli } from './program.js';

// A reader that goes away (`tandem status | head`) is the end of the output, not a crash: the
// write error (EPIPE) would otherwise throw from the stream and print a stack trace. The daemon
// (`tandem run`) keeps forwarding when whatever read its log goes away: it only loses the log;
// central (`tandem central run`) keeps watching the same way.
const daemon = process.argv[2] === 'run' || (process.argv[2] === 'central' && process.argv[3] === 'run');
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (!daemon) process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await runCli(process.argv.slice(2));
