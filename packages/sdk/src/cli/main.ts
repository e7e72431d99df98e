#!/usr/bin/env node
// CLI entry (`clusterip` bin): wires the process (argv, streams, env, SIGINT/SIGTERM) to `runCli`.
// Consumes process state; produces output and the exit status.

import { runCli } from './cli.js';

const controller = new AbortController();
// First SIGINT/SIGTERM: ask the command to stop (watch and cluster up close everything and exit 0).
// A command that does not listen (a resolve stuck on the network) is ended after a grace period,
// and a second signal ends the process at once.
const stop = (signal: NodeJS.Signals) => {
  controller.abort();
  process.once(signal, () => process.exit(130));
  setTimeout(() => process.exit(130), 5000).unref();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.off('SIGINT', stop);
process.off('SIGTERM', stop);
// exitCode rather than exit(): stdout is flushed before the process ends.
process.exitCode = code;
