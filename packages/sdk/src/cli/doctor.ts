// CLI `clusterip doctor <name>`: the Kubernetes "Debug Services" flow, automated — does the name
// resolve from this namespace, does the Service exist, does its selector match pods, are they ready,
// do they declare the target port, does it have usable endpoints, do the endpoints accept connections.
// Consumes a ClusterConnection; produces a `DoctorResult` (model) with a verdict and a fix per check.

import {
  findServicePort,
  isClusterIPError,
  parseServiceTarget,
  type ServiceInfo,
  type ServicePort,
} from '@clusterip/resolver';
import { Mesh } from '../mesh/mesh.js';
import { COMMON_HELP, expectPositionals, integerFlag, parseCommandArgs, targetAndPort } from './args.js';
import { type ClusterConnection, connect } from './connect.js';
import { listSlices } from './endpoints.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import {
  describePorts,
  namespaceHint,
  otherNamespaces,
  type ServiceSummary,
  serviceSummary,
  snapshotOf,
  virtualIp,
} from './lookup.js';
import { listPods, type PodFacts, selects } from './pods.js';
import { probeHttp, probeTcp } from './probe.js';
import { writeError, writeJson } from './render.js';

/**
 * `clusterip doctor --help`.
 *
 * @example
 * ```ts
 * io.stdout(DOCTOR_HELP)
 * ```
 */
export const DOCTOR_HELP = `Usage: clusterip doctor <name>[:port] [-n ns] [--port p] [--http] [--connect-timeout-ms ms] [flags]

Run the checks of the Kubernetes "Debug Services" guide for a Service name, as a client in the
namespace would use it, and print each check's verdict (pass, warn, fail, skip) with the fix:
  name-resolves    the name resolves from this namespace (else: in which namespace the Service lives)
  service-exists   the Service exists; its type, virtual IP and ports
  port             the requested port is defined on the Service
  selector         the selector matches pods (else: which labels the pods carry)
  pods-ready       the selected pods are Ready
  target-port      the pods declare the targetPort (named ports must match a containerPort name)
  endpoints        the Service has endpoints this client may use (kube-proxy's rules)
  connect          each usable endpoint accepts a TCP connection (and answers GET / with --http)

Flags:
      --port <p>                Service port (number or name); default every port
      --http                    also send GET / to each endpoint
      --connect-timeout-ms <ms> per-endpoint probe timeout (default 2000)
${COMMON_HELP}

Exit status 1 when a check fails, 4 when no Service of that name exists in any namespace.
${EXIT_HELP}`;

/** The verdict of one check. `skip`: an earlier failure makes this check meaningless. */
export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

/** One probed endpoint of the `connect` check. */
export interface EndpointProbe {
  /** `address:port` */
  readonly endpoint: string;
  readonly port: string;
  readonly pod?: string;
  readonly verdict: 'pass' | 'fail';
  readonly detail: string;
}

/** One check of the flow. */
export interface DoctorCheck {
  readonly id:
    | 'name-resolves'
    | 'service-exists'
    | 'port'
    | 'selector'
    | 'pods-ready'
    | 'target-port'
    | 'endpoints'
    | 'connect';
  readonly title: string;
  readonly verdict: Verdict;
  readonly detail: string;
  /** What to do about a `fail` or `warn`. */
  readonly fix?: string;
  /** `connect` only: one entry per endpoint probed. */
  readonly endpoints?: readonly EndpointProbe[];
}

/** What `doctor` found (the `--output json` document). */
export interface DoctorResult {
  readonly target: string;
  readonly namespace: string;
  readonly client: { readonly nodeName?: string; readonly zone?: string };
  /** The Service the checks ran against (possibly found in another namespace). */
  readonly service?: ServiceSummary;
  readonly checks: readonly DoctorCheck[];
  /** `fail` when any check failed. */
  readonly verdict: 'pass' | 'fail';
  /** False when no Service of that name exists in any namespace. */
  readonly found: boolean;
}

/** Doctor's options besides the target. */
export interface DoctorOptions {
  readonly http: boolean;
  readonly connectTimeoutMs: number;
}

const TITLES: Readonly<Record<DoctorCheck['id'], string>> = {
  'name-resolves': 'name resolves',
  'service-exists': 'service exists',
  port: 'port defined',
  selector: 'selector matches pods',
  'pods-ready': 'pods ready',
  'target-port': 'target port on pods',
  endpoints: 'usable endpoints',
  connect: 'endpoints reachable',
};

function check(id: DoctorCheck['id'], verdict: Verdict, detail: string, fix?: string): DoctorCheck {
  return { id, title: TITLES[id], verdict, detail, ...(fix === undefined ? {} : { fix }) };
}

const labelsText = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '<none>';

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const list = (names: readonly string[], max = 5) =>
  names.slice(0, max).join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');

/** Levenshtein distance (label values are at most 63 characters). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** Why a selector matches no pod: per selector label, what the namespace's pods carry instead. */
function selectorMismatch(selector: Readonly<Record<string, string>>, pods: readonly PodFacts[]): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector)) {
    const values = [...new Set(pods.map((p) => p.labels[key]).filter((v): v is string => v !== undefined))].sort();
    if (values.includes(value)) continue;
    if (values.length === 0) {
      parts.push(`no pod has a label ${key}`);
      continue;
    }
    // The likeliest typo first: the value closest to the selector's.
    const [closest, ...others] = [...values].sort(
      (a, b) => distance(a, value) - distance(b, value) || a.localeCompare(b),
    );
    const also = others.length === 0 ? '' : ` (others: ${list(others.map((v) => `${key}=${v}`))})`;
    parts.push(`the Service selects ${key}=${value} but pods are labelled ${key}=${closest}${also}`);
  }
  if (parts.length === 0) parts.push(`no single pod carries every label of ${labelsText(selector)}`);
  return parts.join('; ');
}

/** Pods that do not declare a named target port for this Service port (spec §4.1 FindPort). */
function missingNamedPort(port: ServicePort, pods: readonly PodFacts[]): PodFacts[] {
  return pods.filter((p) => !p.ports.some((d) => d.name === port.targetPort && d.protocol === port.protocol));
}

function declared(pods: readonly PodFacts[]): string {
  const seen = new Set<string>();
  for (const p of pods)
    for (const d of p.ports) seen.add(`${d.name ? `${d.name}/` : ''}${d.containerPort}/${d.protocol}`);
  return seen.size === 0 ? 'no ports' : [...seen].sort().join(', ');
}

/**
 * Gather the facts and verdicts (no rendering).
 *
 * @example
 * ```ts
 * const result = await doctorModel(conn, 'backend:http', { http: true, connectTimeoutMs: 2000 })
 * result.checks.filter((c) => c.verdict === 'fail')
 * ```
 */
export async function doctorModel(
  conn: ClusterConnection,
  target: string,
  options: DoctorOptions,
): Promise<DoctorResult> {
  const parsed = parseServiceTarget(target);
  const checks: DoctorCheck[] = [];
  const base = { target, namespace: conn.namespace, client: conn.client };
  const finish = (service: ServiceInfo | undefined, found: boolean): DoctorResult => ({
    ...base,
    ...(service === undefined ? {} : { service: serviceSummary(service) }),
    checks,
    verdict: checks.some((c) => c.verdict === 'fail') ? 'fail' : 'pass',
    found,
  });
  const skipRest = (from: DoctorCheck['id'], why: string) => {
    const ids = Object.keys(TITLES) as DoctorCheck['id'][];
    for (const id of ids.slice(ids.indexOf(from))) checks.push(check(id, 'skip', why));
  };

  // 1–2. Name and Service (the guide's "Does the Service exist?" and "Does the Service work by DNS name?").
  const snapshot = await snapshotOf(conn, target);
  if (snapshot.status === 'unavailable' && snapshot.error !== undefined) throw snapshot.error;
  let info = snapshot.status === 'ok' ? snapshot.service : undefined;
  if (info !== undefined) {
    const index = snapshot.tried.length;
    checks.push(
      check(
        'name-resolves',
        'pass',
        `${parsed.host} → ${snapshot.fqdn} (candidate ${index} of the search list from namespace ${conn.namespace})`,
      ),
    );
  } else {
    const elsewhere = await otherNamespaces(conn, parsed.host);
    const hint = namespaceHint(parsed.host, elsewhere, conn.namespace);
    checks.push(
      check(
        'name-resolves',
        'fail',
        `${parsed.host} does not resolve from namespace ${conn.namespace} (tried ${snapshot.tried.join(', ')})`,
        hint ?? `create the Service, or check the name's spelling and namespace (kubectl get services -A)`,
      ),
    );
    const name = parsed.host.split('.')[0] ?? parsed.host;
    const other = elsewhere[0];
    // Go on with the Service the user most likely meant, so the remaining checks still help.
    if (other !== undefined) info = (await snapshotOf(conn, `kubernetes://${other}/${name}`)).service;
    if (info === undefined) {
      checks.push(
        check(
          'service-exists',
          'fail',
          `no Service named ${name} in any namespace`,
          'create it: kubectl apply -f service.yaml',
        ),
      );
      skipRest('port', 'no Service');
      return finish(undefined, false);
    }
  }
  const subject = `${info.name}.${info.namespace}`;
  checks.push(
    check(
      'service-exists',
      'pass',
      `${subject}: ${info.type}, virtual ip ${virtualIp(info)}, ports ${describePorts(info.ports)}`,
    ),
  );
  if (info.type === 'ExternalName') {
    checks.push(check('port', 'skip', 'ExternalName Services have no ports of their own'));
    checks.push(
      check('selector', 'pass', `${subject} is an alias (CNAME) of ${info.externalName}: it has no pods or endpoints`),
    );
    skipRest('pods-ready', `ExternalName: check ${info.externalName} itself`);
    return finish(info, true);
  }

  // 3. Port.
  let ports: readonly ServicePort[] = info.ports;
  if (parsed.port !== undefined) {
    try {
      const p = findServicePort(info, parsed.port);
      ports = [p];
      checks.push(check('port', 'pass', `port ${parsed.port} → ${p.port}→${p.targetPort}/${p.protocol}`));
    } catch (err) {
      if (!isClusterIPError(err)) throw err;
      checks.push(
        check(
          'port',
          'fail',
          err.message,
          `use one of the Service's ports: ${describePorts(info.ports)}, or add the port to the Service`,
        ),
      );
      skipRest('selector', 'no such port');
      return finish(info, true);
    }
  } else if (info.ports.length === 0) {
    checks.push(
      check(
        'port',
        info.headless ? 'pass' : 'fail',
        'the Service defines no ports',
        info.headless ? undefined : 'add spec.ports to the Service',
      ),
    );
  } else {
    checks.push(check('port', 'pass', `checking every port: ${describePorts(info.ports)}`));
  }

  // 4–6. Selector, readiness, target ports ("Does the Service have any Endpoints?", "Are the Pods working?").
  const selector = info.selector;
  let selected: PodFacts[] = [];
  if (selector === undefined) {
    const slices = await listSlices(conn, info);
    checks.push(
      check(
        'selector',
        'warn',
        `${subject} has no selector: its endpoints are managed by hand (${slices.length} EndpointSlices)`,
        slices.length === 0
          ? 'create EndpointSlices labelled kubernetes.io/service-name for it, or add a selector'
          : undefined,
      ),
    );
    checks.push(check('pods-ready', 'skip', 'no selector'));
    checks.push(check('target-port', 'skip', 'no selector'));
  } else {
    const pods = await listPods(conn, info.namespace);
    selected = pods.filter((p) => selects(selector, p.labels) && p.phase !== 'Succeeded' && p.phase !== 'Failed');
    if (selected.length === 0) {
      checks.push(
        check(
          'selector',
          'fail',
          `the selector ${labelsText(selector)} matches no pod in namespace ${info.namespace} (${plural(pods.length, 'pod')} there)`,
          pods.length === 0
            ? `no pods in namespace ${info.namespace}: deploy the workload there`
            : `${selectorMismatch(selector, pods)}: fix the Service's selector or the pods' labels`,
        ),
      );
      checks.push(check('pods-ready', 'skip', 'no pod selected'));
      checks.push(check('target-port', 'skip', 'no pod selected'));
    } else {
      checks.push(
        check(
          'selector',
          'pass',
          `${labelsText(selector)} selects ${plural(selected.length, 'pod')}: ${list(selected.map((p) => p.name))}`,
        ),
      );
      const ready = selected.filter((p) => p.ready && !p.terminating);
      const unready = selected.filter((p) => !p.ready || p.terminating);
      const state = (p: PodFacts) => (p.terminating ? `${p.name} (terminating)` : `${p.name} (${p.phase}, not ready)`);
      if (unready.length === 0) checks.push(check('pods-ready', 'pass', `${ready.length} of ${selected.length} ready`));
      else {
        const fix = `kubectl describe pod ${unready[0]?.name} -n ${info.namespace}: check readiness probes, restarts and logs`;
        checks.push(
          check(
            'pods-ready',
            ready.length === 0 && !info.publishNotReadyAddresses ? 'fail' : 'warn',
            `${ready.length} of ${selected.length} ready; not ready: ${list(unready.map(state))}`,
            fix,
          ),
        );
      }
      const problems: string[] = [];
      const fixes: string[] = [];
      let worst: Verdict = 'pass';
      for (const p of ports) {
        const label = p.name || String(p.port);
        if (typeof p.targetPort === 'string') {
          const missing = missingNamedPort(p, selected);
          if (missing.length > 0) {
            worst = 'fail';
            problems.push(
              `targetPort ${p.targetPort} (port ${label}) is not a containerPort name on pods ${list(missing.map((m) => m.name))} (they declare: ${declared(missing)})`,
            );
            fixes.push(
              `name the container port ${p.targetPort}/${p.protocol} in the pod template, or set targetPort to its number`,
            );
          }
        } else {
          const missing = selected.filter(
            (m) => m.ports.length > 0 && !m.ports.some((d) => d.containerPort === p.targetPort),
          );
          if (missing.length > 0) {
            if (worst === 'pass') worst = 'warn';
            problems.push(
              `targetPort ${p.targetPort} (port ${label}) is not declared by pods ${list(missing.map((m) => m.name))} (they declare: ${declared(missing)})`,
            );
            fixes.push(`make sure the process listens on ${p.targetPort}, or set targetPort to a declared port`);
          }
        }
      }
      checks.push(
        ports.length === 0
          ? check('target-port', 'skip', 'the Service defines no ports')
          : problems.length === 0
            ? check('target-port', 'pass', `every selected pod declares ${ports.map((p) => p.targetPort).join(', ')}`)
            : check('target-port', worst, problems.join('; '), [...new Set(fixes)].join('; ')),
      );
    }
  }

  // 7–8. Endpoints for this client, and reachability ("Does the Service work by IP?").
  const mesh = new Mesh({ resolver: conn.resolver, telemetry: false });
  try {
    const usable: { endpoint: string; address: string; port: number; portLabel: string; pod?: string }[] = [];
    const lines: string[] = [];
    const fixes: string[] = [];
    let verdict: Verdict = 'pass';
    for (const p of ports) {
      const label = p.name || String(p.port);
      const view = await mesh.endpoints(`kubernetes://${info.namespace}/${info.name}:${label}`);
      const eligible = view.endpoints.filter((e) => e.eligible);
      if (view.outcome?.type === 'ok') {
        lines.push(`port ${label}: ${eligible.length} of ${view.endpoints.length} endpoints usable`);
      } else {
        verdict = 'fail';
        lines.push(`port ${label}: ${view.outcome?.error.message ?? 'no endpoints'}`);
        fixes.push(
          view.outcome?.type === 'no-local-endpoints'
            ? 'run a pod of the Service on this node, or set internalTrafficPolicy: Cluster'
            : view.endpoints.length === 0
              ? 'no endpoints: fix the selector, pod readiness and target port above'
              : 'endpoints exist but none is ready: fix the pods\u2019 readiness',
        );
      }
      for (const e of eligible) {
        usable.push({
          endpoint: e.key,
          address: e.endpoint.address,
          port: e.endpoint.port,
          portLabel: label,
          ...(e.endpoint.targetRef?.name === undefined ? {} : { pod: e.endpoint.targetRef.name }),
        });
      }
    }
    checks.push(
      check(
        'endpoints',
        verdict,
        lines.join('; ') || 'no ports',
        fixes.length === 0 ? undefined : [...new Set(fixes)].join('; '),
      ),
    );
    if (usable.length === 0) {
      checks.push(check('connect', 'skip', 'no usable endpoint to probe'));
      return finish(info, true);
    }
    const probes = await Promise.all(
      usable.map(async (u): Promise<EndpointProbe> => {
        let r = await probeTcp(u.address, u.port, options.connectTimeoutMs);
        if (r.ok && options.http) r = await probeHttp(u.address, u.port, options.connectTimeoutMs);
        return {
          endpoint: u.endpoint,
          port: u.portLabel,
          ...(u.pod === undefined ? {} : { pod: u.pod }),
          verdict: r.ok ? 'pass' : 'fail',
          detail: r.detail,
        };
      }),
    );
    const failed = probes.filter((p) => p.verdict === 'fail');
    const what = options.http ? 'answer GET /' : 'accept TCP connections';
    checks.push({
      ...check(
        'connect',
        failed.length === 0 ? 'pass' : 'fail',
        `${probes.length - failed.length} of ${probes.length} endpoints ${what}`,
        failed.length === 0
          ? undefined
          : `nothing answers on ${list(failed.map((f) => f.endpoint))}: check that the container listens on the target port on all interfaces (0.0.0.0), and the pod's logs`,
      ),
      endpoints: probes,
    });
    return finish(info, true);
  } finally {
    await mesh.close();
  }
}

/**
 * Text rendering of a {@link DoctorResult}.
 *
 * @example
 * ```ts
 * io.stdout(renderDoctor(result))
 * ```
 */
export function renderDoctor(r: DoctorResult): string {
  const lines: string[] = [];
  const client = `node ${r.client.nodeName ?? '<unknown>'}, zone ${r.client.zone ?? '<unknown>'}`;
  lines.push(`doctor ${r.target} (from namespace ${r.namespace}; ${client})`);
  const width = Math.max(...r.checks.map((c) => c.title.length));
  for (const c of r.checks) {
    lines.push(`[${c.verdict}] ${c.title.padEnd(width)}  ${c.detail}`);
    for (const e of c.endpoints ?? []) {
      lines.push(
        `       ${e.verdict === 'pass' ? 'ok  ' : 'FAIL'} ${e.endpoint} ${e.pod ?? ''} (port ${e.port}): ${e.detail}`,
      );
    }
    if (c.fix !== undefined && c.verdict !== 'pass') lines.push(`       fix: ${c.fix}`);
  }
  const failed = r.checks.filter((c) => c.verdict === 'fail').length;
  lines.push(failed === 0 ? 'verdict: no problem found' : `verdict: ${failed} check${failed === 1 ? '' : 's'} failed`);
  return `${lines.join('\n')}\n`;
}

/**
 * 4 when nothing of that name exists, 1 when a check failed, else 0.
 *
 * @example
 * ```ts
 * return doctorExit(result) // 0, 1 or 4
 * ```
 */
export function doctorExit(r: DoctorResult): number {
  if (!r.found) return EXIT.notFound;
  return r.verdict === 'fail' ? EXIT.problems : EXIT.ok;
}

/**
 * `clusterip doctor …`
 *
 * @example
 * ```ts
 * await runDoctor(['backend', '--http'], io)
 * ```
 */
export async function runDoctor(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs('doctor', argv, {
    port: { type: 'string' },
    http: { type: 'boolean' },
    'connect-timeout-ms': { type: 'string' },
  });
  if (args.common.help) {
    io.stdout(`${DOCTOR_HELP}\n`);
    return EXIT.ok;
  }
  const [name] = expectPositionals('doctor', args, ['name']) as [string];
  const { target } = targetAndPort('doctor', name, args);
  const options: DoctorOptions = Object.freeze({
    http: args.values.http === true,
    connectTimeoutMs: integerFlag('doctor', args, 'connect-timeout-ms', 1, 600_000) ?? 2000,
  });
  const conn = await connect(args.common, io);
  try {
    const result = await doctorModel(conn, target, options);
    if (args.common.output === 'json') writeJson(io, result);
    else io.stdout(renderDoctor(result));
    return doctorExit(result);
  } catch (err) {
    writeError(io, err, args.common.output);
    return exitCodeFor(err);
  } finally {
    await conn.close();
  }
}
