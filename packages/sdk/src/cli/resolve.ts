// CLI `clusterip resolve <name>`: the search candidates a pod of this namespace would try, which one
// answered, the Service it denotes, its ports and virtual IP. Consumes a ClusterConnection; produces
// a `ResolveResult` (model) and its text rendering.

import {
  type ClusterName,
  findServicePort,
  interpretClusterName,
  isClusterIPError,
  parseServiceTarget,
  type ServicePort,
  searchCandidates,
} from '@clusterip/resolver';
import { COMMON_HELP, expectPositionals, parseCommandArgs, targetAndPort } from './args.js';
import { type ClusterConnection, connect } from './connect.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import {
  crossNamespaceHint,
  describePorts,
  type ServiceSummary,
  serviceSummary,
  snapshotOf,
  virtualIp,
} from './lookup.js';
import { errorInfo, table, writeError, writeJson } from './render.js';

/**
 * `clusterip resolve --help`.
 *
 * @example
 * ```ts
 * io.stdout(RESOLVE_HELP)
 * ```
 */
export const RESOLVE_HELP = `Usage: clusterip resolve <name>[:port] [-n ns] [--port p] [flags]

Resolve a Service name exactly as a pod in the namespace would (search list, ndots:5): show every
candidate name in order, which one answered, the Service it denotes, its ports and virtual IP.
Names: web, web:http, web.prod, web.prod.svc.cluster.local, kubernetes://prod/web:grpc.

Flags:
      --port <p>          Service port (number or name); same as <name>:<port>
${COMMON_HELP}

${EXIT_HELP}`;

/** One search candidate and what happened to it. */
export interface ResolveCandidate {
  readonly fqdn: string;
  /** What the name denotes for cluster DNS (`service`, `endpoint`, `srv`, `no-data`, `invalid`, `outside`, `pod`). */
  readonly denotes: ClusterName['kind'];
  readonly result: 'answered' | 'no such name' | 'no data' | 'not tried';
}

/** What `resolve` found (the `--output json` document). */
export interface ResolveResult {
  readonly target: string;
  readonly namespace: string;
  readonly search: readonly string[];
  readonly ndots: number;
  readonly status: 'ok' | 'not-found' | 'unavailable';
  /** The Service port the target named, if any. */
  readonly requestedPort?: number | string;
  readonly candidates: readonly ResolveCandidate[];
  /** The absolute name that answered. */
  readonly answered?: string;
  readonly service?: ServiceSummary;
  /** The Service port selected by the target's port (or the only port). */
  readonly port?: ServicePort;
  /** Why no port was selected (no such port, several ports and none named). */
  readonly portProblem?: string;
  readonly endpoints?: { readonly total: number; readonly ready: number };
  /** How to reach a Service of that name in another namespace. */
  readonly hint?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Gather the facts (no rendering).
 *
 * @example
 * ```ts
 * const result = await resolveModel(conn, 'web.prod:http')
 * result.candidates.map((c) => `${c.fqdn} ${c.result}`)
 * ```
 */
export async function resolveModel(conn: ClusterConnection, target: string): Promise<ResolveResult> {
  const parsed = parseServiceTarget(target);
  const snapshot = await snapshotOf(conn, target);
  const dns = conn.context.dns;
  const tried = snapshot.tried;
  let all: string[] = [...tried];
  if (parsed.namespace === undefined && parsed.ipVersion === 0) {
    all = searchCandidates(parsed.host, { search: dns.search, ndots: dns.ndots });
  }
  const clusterDomain = conn.context.clusterDomain;
  const candidates = all.map((fqdn): ResolveCandidate => {
    const index = tried.indexOf(fqdn);
    const result =
      snapshot.status === 'ok' && fqdn === snapshot.fqdn
        ? 'answered'
        : index === -1 || (snapshot.status === 'unavailable' && fqdn === snapshot.fqdn)
          ? 'not tried'
          : undefined;
    const denotes = interpretClusterName(fqdn, clusterDomain).kind;
    return { fqdn, denotes, result: result ?? (denotes === 'no-data' ? 'no data' : 'no such name') };
  });
  const base = {
    target,
    namespace: conn.namespace,
    search: dns.search,
    ndots: dns.ndots,
    status: snapshot.status,
    ...(parsed.port === undefined ? {} : { requestedPort: parsed.port }),
    candidates,
  };
  if (snapshot.status !== 'ok') {
    const hint = snapshot.status === 'not-found' ? await crossNamespaceHint(conn, parsed.host) : undefined;
    return {
      ...base,
      ...(hint === undefined ? {} : { hint }),
      ...(snapshot.error === undefined ? {} : { error: errorInfo(snapshot.error) }),
    };
  }
  const info = snapshot.service;
  let port: ServicePort | undefined;
  let portProblem: string | undefined;
  if (info !== undefined && info.type !== 'ExternalName' && !(info.headless && info.ports.length === 0)) {
    try {
      port = findServicePort(info, snapshot.port);
    } catch (err) {
      if (!isClusterIPError(err)) throw err;
      portProblem = err.message;
    }
  }
  return {
    ...base,
    answered: snapshot.fqdn,
    ...(info === undefined ? {} : { service: serviceSummary(info) }),
    ...(port === undefined ? {} : { port }),
    ...(portProblem === undefined ? {} : { portProblem }),
    ...(port === undefined
      ? {}
      : {
          endpoints: {
            total: snapshot.endpoints.length,
            ready: snapshot.endpoints.filter((e) => e.conditions.ready).length,
          },
        }),
  };
}

/**
 * Text rendering of a {@link ResolveResult}.
 *
 * @example
 * ```ts
 * io.stdout(renderResolve(result))
 * ```
 */
export function renderResolve(r: ResolveResult): string {
  const lines: string[] = [];
  lines.push(`name:       ${r.target} (from namespace ${r.namespace}, ndots ${r.ndots})`);
  lines.push('candidates:');
  lines.push(
    table(
      ['  #', 'NAME', 'DENOTES', 'RESULT'],
      r.candidates.map((c, i) => [`  ${i + 1}`, c.fqdn, c.denotes, c.result]),
    ),
  );
  if (r.status !== 'ok') {
    lines.push(`result:     ${r.status === 'not-found' ? 'not found' : 'unavailable'}`);
    if (r.error !== undefined) lines.push(`error:      ${r.error.message}`);
    if (r.hint !== undefined) lines.push(`hint:       ${r.hint}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`answered:   ${r.answered}`);
  const s = r.service;
  if (s !== undefined) {
    lines.push(`service:    ${s.name}.${s.namespace} (type ${s.type})`);
    lines.push(`virtual ip: ${virtualIp(s)}`);
    lines.push(`ports:      ${describePorts(s.ports)}`);
    if (r.port !== undefined) {
      lines.push(`port:       ${r.port.name || r.port.port} → targetPort ${r.port.targetPort}/${r.port.protocol}`);
    }
    if (r.portProblem !== undefined) lines.push(`port:       ${r.portProblem}`);
    lines.push(
      `selector:   ${
        s.selector === undefined
          ? '<none>'
          : Object.entries(s.selector)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')
      }`,
    );
  }
  if (r.endpoints !== undefined) lines.push(`endpoints:  ${r.endpoints.total} (${r.endpoints.ready} ready)`);
  return `${lines.join('\n')}\n`;
}

/**
 * Exit status of a result: 0 found, 4 not found or no such port, 3 unavailable.
 *
 * @example
 * ```ts
 * return resolveExit(result) // 0, 3 or 4
 * ```
 */
export function resolveExit(r: ResolveResult): number {
  if (r.status === 'not-found') return EXIT.notFound;
  if (r.status === 'unavailable') return EXIT.unreachable;
  if (r.portProblem !== undefined && r.requestedPort !== undefined) return EXIT.notFound;
  return EXIT.ok;
}

/**
 * `clusterip resolve …`
 *
 * @example
 * ```ts
 * await runResolve(['web', '--port', 'http', '-o', 'json'], io)
 * ```
 */
export async function runResolve(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('resolve', argv, { port: { type: 'string' } });
  if (args.common.help) {
    io.stdout(`${RESOLVE_HELP}\n`);
    return EXIT.ok;
  }
  const [name] = expectPositionals('resolve', args, ['name']) as [string];
  const { target } = targetAndPort('resolve', name, args);
  const conn = await connect(args.common, io);
  try {
    const result = await resolveModel(conn, target);
    if (args.common.output === 'json') writeJson(io, result);
    else io.stdout(renderResolve(result));
    return resolveExit(result);
  } catch (err) {
    writeError(io, err, args.common.output);
    return exitCodeFor(err);
  } finally {
    await conn.close();
  }
}
