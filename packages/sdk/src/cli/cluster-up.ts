// CLI `clusterip cluster up -f <dir|file>...`: start the local emulated cluster (API server + pods
// for the demo's images) from manifests, write a kubeconfig, print `export KUBECONFIG=…` and a
// summary, and run until SIGINT/SIGTERM. Consumes manifests; produces a running LocalCluster.

import { mkdir, stat, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@clusterip/resolver';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { table, writeError, writeJson } from './render.js';

/**
 * `clusterip cluster --help`.
 *
 * @example
 * ```ts
 * io.stdout(CLUSTER_HELP)
 * ```
 */
export const CLUSTER_HELP = `Usage: clusterip cluster up -f <dir|file> [-f ...] [--kubeconfig-out path] [--addresses first-last] [--tls] [-o text|json]

Start a local emulated cluster inside this process: an API server (kubectl works against it) running
the EndpointSlice controller, and the manifests' Deployments as pods, each an HTTP or gRPC server in
this process (the built-in echo images; any other image runs echo-http) on its own 127.0.0.x address.
Writes a kubeconfig (default .clusterip/kubeconfig), prints the export KUBECONFIG=... line and the
pods and Services, then runs until Ctrl-C/SIGTERM, which stops every pod and the API server (exit 0).

Flags:
  -f, --filename <path>       manifest file or directory (*.yaml, *.yml, *.json); repeatable
      --kubeconfig-out <path> where to write the kubeconfig (default .clusterip/kubeconfig)
      --addresses <range>     pod addresses on loopback, first-last (default 127.0.0.20-127.0.0.250);
                              give a second cluster on this machine its own, e.g. 127.0.1.20-127.0.1.250
      --tls                   serve the API over HTTPS (kubectl then sends the token)
  -o, --output text|json      summary format (default text)
  -h, --help                  show help

${EXIT_HELP}`;

/** What `cluster up` prints once the cluster runs (the `--output json` document). */
export interface ClusterUpSummary {
  readonly server: string;
  /** Absolute path of the kubeconfig written. */
  readonly kubeconfig: string;
  /** `export KUBECONFIG=<path>` */
  readonly export: string;
  readonly pods: readonly {
    namespace: string;
    name: string;
    ready: boolean;
    ip: string;
    node: string;
    ports: string;
  }[];
  readonly services: readonly { namespace: string; name: string; clusterIP: string; ports: string }[];
}

interface RawService {
  metadata?: { name?: string; namespace?: string };
  spec?: { clusterIP?: string; type?: string; ports?: { name?: string; port?: number; targetPort?: unknown }[] };
}

/**
 * Gather the summary of a running cluster (no rendering).
 *
 * @example
 * ```ts
 * const summary = clusterSummary(cluster, '/work/.clusterip/kubeconfig')
 * ```
 */
export function clusterSummary(cluster: LocalCluster, kubeconfig: string): ClusterUpSummary {
  const services = (cluster.api.list('Service') as RawService[])
    .filter((s) => s.metadata?.namespace !== 'default' || s.metadata?.name !== 'kubernetes')
    .map((s) => ({
      namespace: s.metadata?.namespace ?? '',
      name: s.metadata?.name ?? '',
      clusterIP: s.spec?.clusterIP ?? '',
      ports: (s.spec?.ports ?? [])
        .map((p) => `${p.name ? `${p.name}:` : ''}${p.port}→${String(p.targetPort ?? p.port)}`)
        .join(','),
    }));
  const pods = cluster.pods().map((p) => ({
    namespace: p.namespace,
    name: p.name,
    ready: p.ready,
    ip: p.ip,
    node: p.node,
    ports: p.ports.map((x) => `${x.name ? `${x.name}:` : ''}${x.containerPort}`).join(','),
  }));
  return { server: cluster.url, kubeconfig, export: `export KUBECONFIG=${kubeconfig}`, pods, services };
}

/**
 * Text rendering of a {@link ClusterUpSummary}.
 *
 * @example
 * ```ts
 * io.stdout(renderClusterUp(clusterSummary(cluster, path)))
 * ```
 */
export function renderClusterUp(s: ClusterUpSummary): string {
  const lines = [
    s.export,
    `api server: ${s.server}`,
    '',
    s.services.length === 0
      ? 'No Services.'
      : table(
          ['NAMESPACE', 'SERVICE', 'CLUSTER-IP', 'PORTS'],
          s.services.map((x) => [x.namespace, x.name, x.clusterIP, x.ports || '<none>']),
        ),
    '',
    s.pods.length === 0
      ? 'No pods.'
      : table(
          ['NAMESPACE', 'POD', 'READY', 'IP', 'NODE', 'PORTS'],
          s.pods.map((p) => [p.namespace, p.name, p.ready ? '1/1' : '0/1', p.ip, p.node, p.ports || '<none>']),
        ),
    '',
    'Running; Ctrl-C stops the cluster.',
  ];
  return `${lines.join('\n')}\n`;
}

/** `--addresses 127.0.1.20-127.0.1.250` → `{ first, last }`: loopback IPv4 addresses, first not after last. */
function addressRange(text: string): { first: string; last: string } {
  const [first = '', last = '', ...rest] = text.split('-');
  const number = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  if (rest.length > 0 || !isIPv4(first) || !isIPv4(last) || !first.startsWith('127.') || !last.startsWith('127.')) {
    throw new InvalidArgumentError(
      '--addresses',
      `clusterip cluster up: --addresses must be two loopback addresses first-last, e.g. 127.0.1.20-127.0.1.250, got ${JSON.stringify(text)}`,
    );
  }
  if (number(last) < number(first)) {
    throw new InvalidArgumentError(
      '--addresses',
      `clusterip cluster up: --addresses ${text}: the last address comes before the first`,
    );
  }
  return { first, last };
}

/**
 * `clusterip cluster up …`
 *
 * @example
 * ```ts
 * await runCluster(['up', '-f', 'manifests/'], io) // returns after SIGINT
 * ```
 */
export async function runCluster(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        'kubeconfig-out': { type: 'string' },
        addresses: { type: 'string' },
        tls: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const flag = /'([^']+)'/.exec((err as Error).message)?.[1] ?? 'argument';
    throw new InvalidArgumentError(flag, `clusterip cluster: bad flag ${flag}: see clusterip cluster --help`);
  }
  const v = parsed.values as {
    filename?: string[];
    'kubeconfig-out'?: string;
    addresses?: string;
    tls?: boolean;
    output?: string;
    help?: boolean;
  };
  if (v.help === true) {
    io.stdout(`${CLUSTER_HELP}\n`);
    return EXIT.ok;
  }
  const output = v.output ?? 'text';
  if (output !== 'text' && output !== 'json') {
    throw new InvalidArgumentError(
      '--output',
      `clusterip cluster: --output must be text or json, got ${JSON.stringify(output)}`,
    );
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'up') {
    throw new InvalidArgumentError(
      'subcommand',
      'clusterip cluster: expected "up", e.g. clusterip cluster up -f manifests/',
    );
  }
  const files = (v.filename ?? []).map((f) => resolve(io.cwd, f));
  if (files.length === 0) {
    throw new InvalidArgumentError('--filename', 'clusterip cluster up: give the manifests with -f <dir|file>');
  }
  for (const file of files) {
    try {
      await stat(file);
    } catch {
      throw new InvalidArgumentError('--filename', `clusterip cluster up: manifest path ${file} does not exist`);
    }
  }
  const addresses = v.addresses === undefined ? undefined : addressRange(v.addresses);
  const kubeconfig = resolve(io.cwd, v['kubeconfig-out'] ?? '.clusterip/kubeconfig');
  // Loaded on demand: the other commands do not pay for the emulator (manifest parsing, images).
  const { LocalCluster } = await import('../cluster/local-cluster.js');
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      manifests: files,
      ...(addresses === undefined ? {} : { addresses }),
      ...(v.tls === true ? { tls: true } : {}),
    });
  } catch (err) {
    writeError(io, err, output);
    return exitCodeFor(err);
  }
  // A ref'd timer on purpose (the exception to "every timer unref()'d"): the command must keep the
  // process alive until a signal, whatever the cluster's own handles do. Cleared before closing.
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    await mkdir(dirname(kubeconfig), { recursive: true });
    // The kubeconfig may carry a bearer token: readable by its owner only.
    await writeFile(kubeconfig, cluster.kubeconfig(), { mode: 0o600 });
    const summary = clusterSummary(cluster, kubeconfig);
    if (output === 'json') writeJson(io, summary);
    else io.stdout(renderClusterUp(summary));
    await new Promise<void>((done) => {
      if (io.signal.aborted) return done();
      keepAlive = setInterval(() => {}, 1 << 30);
      io.signal.addEventListener('abort', () => done(), { once: true });
    });
    return EXIT.ok;
  } catch (err) {
    writeError(io, err, output);
    return exitCodeFor(err);
  } finally {
    if (keepAlive !== undefined) clearInterval(keepAlive);
    await cluster.close();
    if (output === 'text') io.stderr('clusterip: cluster stopped\n');
  }
}
