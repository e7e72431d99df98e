// CLI: command dispatch — picks the command from argv, prints help, and turns every failure into one
// line (or a JSON error document) plus an exit status. Consumes argv and CliIo; produces an exit code.

import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@clusterip/resolver';
import { COMMON_HELP } from './args.js';
import { runCluster } from './cluster-up.js';
import { runDoctor } from './doctor.js';
import { runEndpoints } from './endpoints.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { writeError } from './render.js';
import { runResolve } from './resolve.js';
import { runWatch } from './watch.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  resolve: runResolve,
  endpoints: runEndpoints,
  watch: runWatch,
  doctor: runDoctor,
  cluster: runCluster,
};

/**
 * `clusterip --help`.
 *
 * @example
 * ```ts
 * io.stdout(MAIN_HELP)
 * ```
 */
export const MAIN_HELP = `Usage: clusterip <command> [args] [flags]

Kubernetes ClusterIP Services as a client sees them, through the same code the SDK runs in-process.

Commands:
  resolve <name>        search candidates tried, the one that answered, the Service, ports, virtual IP
  endpoints <service>   endpoint slices and each endpoint's eligibility for this client
  watch <service>       live endpoint changes with timestamps
  doctor <name>         the "Debug Services" checks, each with a verdict and the fix
  cluster up -f <dir>   start a local emulated cluster from manifests and print a kubeconfig

Run clusterip <command> --help for a command's flags, clusterip --version for the version.

${COMMON_HELP}

${EXIT_HELP}`;

/** The version of @clusterip/sdk (its package.json, two levels above dist/cli/ and src/cli/). */
async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Where `--output json` was asked for, to render a usage error in the right format. */
function wantsJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--output=json' || a === '-ojson') return true;
    if ((a === '--output' || a === '-o') && argv[i + 1] === 'json') return true;
  }
  return false;
}

/**
 * Run one CLI invocation. Never throws: every failure is reported on `io` and mapped to an exit
 * status (see `EXIT`).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io)
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${MAIN_HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (name === '--version') {
      io.stdout(`${await version()}\n`);
      return EXIT.ok;
    }
    if (command === undefined) {
      throw new InvalidArgumentError(
        'command',
        `clusterip: unknown command ${JSON.stringify(name)}: use one of ${Object.keys(COMMANDS).join(', ')} (clusterip --help)`,
      );
    }
    return await command(rest, io);
  } catch (err) {
    writeError(io, err, wantsJson(argv) ? 'json' : 'text');
    return exitCodeFor(err);
  }
}
