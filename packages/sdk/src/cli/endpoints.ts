// CLI `clusterip endpoints <service>`: the Service's EndpointSlices as `kubectl get endpointslices`
// shows them, plus every endpoint's eligibility for this client (kube-proxy's rules via Mesh.endpoints).
// Consumes a ClusterConnection; produces an `EndpointsResult` (model) and its text rendering.

import { findServicePort, type ServiceInfo, type ServicePort } from '@clusterip/resolver';
import type { EligibilityOutcome } from '../eligibility/eligibility.js';
import { type EndpointEligibility, Mesh, type MeshEndpoint } from '../mesh/mesh.js';
import { COMMON_HELP, expectPositionals, parseCommandArgs, targetAndPort } from './args.js';
import { type ClusterConnection, connect } from './connect.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { describePorts, requireService, type ServiceSummary, serviceSummary, virtualIp } from './lookup.js';
import { age, table, writeError, writeJson } from './render.js';

/**
 * `clusterip endpoints --help`.
 *
 * @example
 * ```ts
 * io.stdout(ENDPOINTS_HELP)
 * ```
 */
export const ENDPOINTS_HELP = `Usage: clusterip endpoints <service> [-n ns] [--port p] [flags]

List the Service's EndpointSlices (like kubectl get endpointslices) and, for each Service port, every
endpoint with its conditions (ready/serving/terminating), node, zone, pod and whether this client may
use it under kube-proxy's rules (internalTrafficPolicy, topology hints, terminating fallback), and why not.

Flags:
      --port <p>          only this Service port (number or name); default every port
${COMMON_HELP}

Exit status 1 when a listed port has no usable endpoint for this client.
${EXIT_HELP}`;

/** One EndpointSlice, as `kubectl get endpointslices` lists it. */
export interface SliceRow {
  readonly name: string;
  readonly addressType: string;
  /** Slice port numbers (target ports). */
  readonly ports: readonly number[];
  readonly endpoints: readonly string[];
  readonly age: string;
}

/** One endpoint of one Service port, with this client's verdict. */
export interface EndpointRow {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly node?: string;
  readonly zone?: string;
  readonly pod?: string;
  readonly eligible: boolean;
  readonly reason: EndpointEligibility;
  /** Why the endpoint is not used (or why it is used as a fallback). */
  readonly why?: string;
}

/** The verdict for one Service port. */
export interface PortEndpoints {
  readonly port: ServicePort;
  /** `ok`, `no-endpoints` (kube-proxy REJECTs) or `no-local-endpoints` (kube-proxy DROPs). */
  readonly outcome: EligibilityOutcome['type'];
  /** `Cluster`/`Local` policy, topology mode and fallback, or the error message. */
  readonly detail: string;
  readonly endpoints: readonly EndpointRow[];
}

/** What `endpoints` found (the `--output json` document). */
export interface EndpointsResult {
  readonly service: ServiceSummary;
  readonly client: { readonly nodeName?: string; readonly zone?: string };
  readonly slices: readonly SliceRow[];
  readonly ports: readonly PortEndpoints[];
  /** Set when the Service cannot have endpoints (ExternalName). */
  readonly note?: string;
}

interface RawSlice {
  metadata?: { name?: string; creationTimestamp?: string };
  addressType?: string;
  ports?: { port?: number }[] | null;
  endpoints?: { addresses?: string[] }[] | null;
}

/**
 * The Service's EndpointSlices (by the `kubernetes.io/service-name` label).
 *
 * @example
 * ```ts
 * const slices = await listSlices(conn, service)
 * ```
 */
export async function listSlices(conn: ClusterConnection, info: ServiceInfo): Promise<RawSlice[]> {
  const list = (await conn.reader.get(`/apis/discovery.k8s.io/v1/namespaces/${info.namespace}/endpointslices`, {
    labelSelector: `kubernetes.io/service-name=${info.name}`,
  })) as { items?: RawSlice[] } | undefined;
  return list?.items ?? [];
}

function why(row: MeshEndpoint, client: EndpointsResult['client']): string | undefined {
  const e = row.endpoint;
  switch (row.reason) {
    case 'ready':
      return undefined;
    case 'terminating-fallback':
      return 'used only because no endpoint is ready (serving while terminating)';
    case 'not-ready':
      return e.conditions.terminating ? 'terminating and no longer serving' : 'not ready (readiness probe failing?)';
    case 'terminating':
      return 'terminating: not used while ready endpoints exist';
    case 'other-node':
      return client.nodeName === undefined
        ? 'internalTrafficPolicy Local and this client node is unknown: pass --node'
        : `internalTrafficPolicy Local: on node ${e.nodeName ?? '<none>'}, this client is on ${client.nodeName}`;
    case 'topology':
      return `topology hints route this client (${client.nodeName ? `node ${client.nodeName}, ` : ''}zone ${client.zone ?? '<unknown>'}) to other endpoints`;
  }
}

function outcomeDetail(outcome: EligibilityOutcome | undefined): string {
  if (outcome === undefined) return 'unknown';
  if (outcome.type !== 'ok') return outcome.error.message;
  const parts = [`policy ${outcome.policy}`, `topology ${outcome.topology}`];
  if (outcome.terminatingFallback) parts.push('terminating fallback');
  return parts.join(', ');
}

/**
 * Gather the facts (no rendering).
 *
 * @example
 * ```ts
 * const result = await endpointsModel(conn, 'backend', 'http')
 * result.ports[0]?.endpoints.filter((e) => !e.eligible).map((e) => e.why)
 * ```
 */
export async function endpointsModel(
  conn: ClusterConnection,
  name: string,
  port?: number | string,
  now: () => number = Date.now,
): Promise<EndpointsResult> {
  const { info } = await requireService(conn, name);
  const client = conn.client;
  const raw = await listSlices(conn, info);
  const slices = raw
    .map(
      (s): SliceRow => ({
        name: s.metadata?.name ?? '',
        addressType: s.addressType ?? '',
        ports: (s.ports ?? []).map((p) => p.port).filter((p): p is number => typeof p === 'number'),
        endpoints: (s.endpoints ?? []).map((e) => e.addresses?.[0]).filter((a): a is string => typeof a === 'string'),
        age: age(s.metadata?.creationTimestamp, now()),
      }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  const base = { service: serviceSummary(info), client, slices };
  if (info.type === 'ExternalName') {
    return { ...base, ports: [], note: `ExternalName alias of ${info.externalName}: it has no endpoints` };
  }
  let ports = info.ports;
  if (port !== undefined) {
    ports = [findServicePort(info, port)];
  }
  const mesh = new Mesh({ resolver: conn.resolver, telemetry: false });
  try {
    const out: PortEndpoints[] = [];
    for (const p of ports) {
      const view = await mesh.endpoints(`kubernetes://${info.namespace}/${info.name}:${p.name || p.port}`);
      out.push({
        port: p,
        outcome: view.outcome?.type ?? 'no-endpoints',
        detail: outcomeDetail(view.outcome),
        endpoints: view.endpoints.map((row): EndpointRow => {
          const e = row.endpoint;
          const reason = why(row, client);
          return {
            address: e.address,
            port: e.port,
            ready: e.conditions.ready,
            serving: e.conditions.serving,
            terminating: e.conditions.terminating,
            ...(e.nodeName === undefined ? {} : { node: e.nodeName }),
            ...(e.zone === undefined ? {} : { zone: e.zone }),
            ...(e.targetRef?.name === undefined ? {} : { pod: e.targetRef.name }),
            eligible: row.eligible,
            reason: row.reason,
            ...(reason === undefined ? {} : { why: reason }),
          };
        }),
      });
    }
    return { ...base, ports: out };
  } finally {
    await mesh.close();
  }
}

const yes = (b: boolean) => (b ? 'true' : 'false');

/**
 * Text rendering of an {@link EndpointsResult}.
 *
 * @example
 * ```ts
 * io.stdout(renderEndpoints(result))
 * ```
 */
export function renderEndpoints(r: EndpointsResult): string {
  const s = r.service;
  const lines: string[] = [];
  lines.push(
    `service ${s.name}.${s.namespace}: ${s.type}, virtual ip ${virtualIp(s)}, ports ${describePorts(s.ports)}`,
  );
  lines.push(`client: node ${r.client.nodeName ?? '<unknown>'}, zone ${r.client.zone ?? '<unknown>'}`);
  lines.push('');
  if (r.slices.length === 0) lines.push('No EndpointSlices.');
  else {
    lines.push(
      table(
        ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
        r.slices.map((sl) => [
          sl.name,
          sl.addressType,
          sl.ports.length === 0 ? '<unset>' : sl.ports.join(','),
          sl.endpoints.length === 0
            ? '<unset>'
            : sl.endpoints.slice(0, 3).join(',') +
              (sl.endpoints.length > 3 ? ` + ${sl.endpoints.length - 3} more...` : ''),
          sl.age,
        ]),
      ),
    );
  }
  if (r.note !== undefined) lines.push('', r.note);
  for (const p of r.ports) {
    lines.push('');
    lines.push(
      `port ${p.port.name || p.port.port} (${p.port.port}→${p.port.targetPort}/${p.port.protocol}): ${p.outcome}: ${p.detail}`,
    );
    if (p.endpoints.length === 0) {
      lines.push('  no endpoints');
      continue;
    }
    lines.push(
      table(
        ['  ENDPOINT', 'READY', 'SERVING', 'TERMINATING', 'NODE', 'ZONE', 'POD', 'ELIGIBLE', 'WHY'],
        p.endpoints.map((e) => [
          `  ${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`,
          yes(e.ready),
          yes(e.serving),
          yes(e.terminating),
          e.node ?? '<none>',
          e.zone ?? '<none>',
          e.pod ?? '<none>',
          e.eligible ? 'yes' : 'no',
          e.why ?? '',
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * 1 when a listed port has no usable endpoint (or the Service cannot have endpoints), else 0.
 *
 * @example
 * ```ts
 * return endpointsExit(result) // 1 when a port has no usable endpoint
 * ```
 */
export function endpointsExit(r: EndpointsResult): number {
  if (r.note !== undefined) return EXIT.problems;
  return r.ports.every((p) => p.outcome === 'ok') ? EXIT.ok : EXIT.problems;
}

/**
 * `clusterip endpoints …`
 *
 * @example
 * ```ts
 * await runEndpoints(['backend', '--port', 'http'], io)
 * ```
 */
export async function runEndpoints(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('endpoints', argv, { port: { type: 'string' } });
  if (args.common.help) {
    io.stdout(`${ENDPOINTS_HELP}\n`);
    return EXIT.ok;
  }
  const [name] = expectPositionals('endpoints', args, ['service']) as [string];
  const { port } = targetAndPort('endpoints', name, args);
  const conn = await connect(args.common, io);
  try {
    const result = await endpointsModel(conn, name, port);
    if (args.common.output === 'json') writeJson(io, result);
    else io.stdout(renderEndpoints(result));
    return endpointsExit(result);
  } catch (err) {
    writeError(io, err, args.common.output);
    return exitCodeFor(err);
  } finally {
    await conn.close();
  }
}
