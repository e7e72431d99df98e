// The demo (entry point): parses the flags first (fast --help and usage errors), then loads and runs the show.
// Consumes argv; produces the demo's exit code. Usage: node packages/examples/dist/demo/main.js [--once] [--help]

import { type DemoOptions, parseDemoArgs, USAGE } from './demo-options.js';

let options: DemoOptions | undefined;
try {
  options = parseDemoArgs(process.argv.slice(2), { isTTY: process.stdout.isTTY === true, env: process.env });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const { runDemo } = await import('./demo-run.js');
const code = await runDemo(options);
// Everything was closed; exit explicitly anyway so a stray handle in a dependency cannot keep CI waiting.
process.exit(code);
