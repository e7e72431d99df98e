// Benchmark helper: a two-namespace topology (client netns ↔ veth ↔ pod netns) and, in the client netns,
// kube-proxy-style ClusterIP DNAT rules (iptables `statistic` chains or nftables `numgen` vmap).
// Consumes a pod count and a rule flavour; produces namespace names, pod and ClusterIP addresses,
// per-pod DNAT counters and an idempotent cleanup. Nothing is added to the root namespace.

import { execFileSync } from 'node:child_process';
import { hasCommand } from './bench-child.js';

/** kube-proxy's rule flavour to emulate. */
/** The nat back ends a ClusterIP can be built with. */
export const DNAT_MODES = ['iptables', 'nftables'] as const;
export type DnatMode = (typeof DNAT_MODES)[number];

/** The namespaces and addresses of a topology made by {@link createNetnsTopology}. */
export interface NetnsTopology {
  /** Namespace of the client (and of a sidecar proxy): has the DNAT rules. */
  readonly clientNs: string;
  /** Namespace of the pods. */
  readonly serverNs: string;
  /** One address per pod, on the pod namespace's veth. */
  readonly podIps: readonly string[];
  readonly podPort: number;
  /** The ClusterIP: exists only in the DNAT rules, as in kube-proxy. */
  readonly clusterIp: string;
  readonly clusterPort: number;
  /** The rule flavour installed, or undefined when rules could not be installed (see `dnatSkipped`). */
  readonly dnat: DnatMode | undefined;
  /** Why the DNAT rules are missing. */
  readonly dnatSkipped: string | undefined;
  /** Connections DNAT-ed to each pod so far (the nat table sees a connection's first packet only). */
  connectionsPerPod(): number[];
  /** Delete both namespaces (their veth ends and rules go with them). Idempotent, synchronous. */
  close(): void;
}

const PREFIX = 'cipbench-';
const NET = '198.18.0';
const CLUSTER_IP = '198.18.100.10';
const POD_PORT = 8080;
const CLUSTER_PORT = 80;

function sh(argv: readonly string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(input === undefined ? {} : { input }),
  });
}

function why(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n')[0]!;
}

/**
 * Delete namespaces left by earlier runs that were killed before cleaning up: names `cipbench-<pid>-*`
 * whose pid no longer runs. Returns the names deleted.
 *
 * @example
 * ```ts
 * for (const ns of removeStaleNamespaces()) console.log(`removed stale ${ns}`)
 * ```
 */
export function removeStaleNamespaces(): string[] {
  let list: string;
  try {
    list = sh(['ip', 'netns', 'list']);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^cipbench-(\d+)-[cs]$/.exec(name);
    if (m === null) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its creator still runs
    } catch {}
    try {
      sh(['ip', 'netns', 'del', name]);
      removed.push(name);
    } catch {}
  }
  return removed;
}

/**
 * Build the topology, or say why it cannot be built (not root, no `ip`, no netns support). DNAT rules are
 * optional: when they fail the namespaces stay and `dnatSkipped` says why. The caller must `close()` it;
 * it also registers a process 'exit' hook that deletes the namespaces if the caller could not.
 *
 * @example
 * ```ts
 * const made = createNetnsTopology(3, 'iptables')
 * if ('skipped' in made) console.log(made.skipped)
 * else try { ... } finally { made.close() }
 * ```
 */
export function createNetnsTopology(pods: number, mode: DnatMode | 'off'): NetnsTopology | { skipped: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skipped: 'not root' };
  if (!hasCommand('ip')) return { skipped: '`ip` (iproute2) not found' };
  const clientNs = `${PREFIX}${process.pid}-c`;
  const serverNs = `${PREFIX}${process.pid}-s`;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.removeListener('exit', close);
    for (const ns of [clientNs, serverNs]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {}
    }
  };
  process.on('exit', close);
  const podIps = Array.from({ length: pods }, (_, i) => `${NET}.${11 + i}`);
  try {
    sh(['ip', 'netns', 'add', clientNs]);
    sh(['ip', 'netns', 'add', serverNs]);
    // Both veth ends are created directly inside their namespaces: the root namespace never holds them.
    const vc = `cipb${process.pid}c`;
    const vs = `cipb${process.pid}s`;
    sh(['ip', 'link', 'add', 'name', vc, 'netns', clientNs, 'type', 'veth', 'peer', 'name', vs, 'netns', serverNs]);
    sh(['ip', '-n', clientNs, 'addr', 'add', `${NET}.1/24`, 'dev', vc]);
    sh(['ip', '-n', serverNs, 'addr', 'add', `${NET}.2/24`, 'dev', vs]);
    for (const ip of podIps) sh(['ip', '-n', serverNs, 'addr', 'add', `${ip}/24`, 'dev', vs]);
    for (const ns of [clientNs, serverNs]) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', clientNs, 'link', 'set', vc, 'up']);
    sh(['ip', '-n', serverNs, 'link', 'set', vs, 'up']);
    // The "service CIDR": ClusterIPs are routed to the veth and rewritten by the nat OUTPUT hook first.
    sh(['ip', '-n', clientNs, 'route', 'add', '198.18.100.0/24', 'dev', vc]);
  } catch (err) {
    close();
    return { skipped: `network namespaces: ${why(err)}` };
  }
  let dnat: DnatMode | undefined;
  let dnatSkipped: string | undefined;
  if (mode === 'off') dnatSkipped = 'DNAT disabled (--dnat=off)';
  else {
    try {
      if (mode === 'iptables') installIptables(clientNs, podIps);
      else installNftables(clientNs, podIps);
      dnat = mode;
    } catch (err) {
      dnatSkipped = `${mode} DNAT rules: ${why(err)}`;
    }
  }
  return {
    clientNs,
    serverNs,
    podIps,
    podPort: POD_PORT,
    clusterIp: CLUSTER_IP,
    clusterPort: CLUSTER_PORT,
    dnat,
    dnatSkipped,
    connectionsPerPod: () => (dnat === undefined ? podIps.map(() => 0) : counters(clientNs, dnat, podIps.length)),
    close,
  };
}

/**
 * kube-proxy's iptables mode for one ClusterIP: KUBE-SERVICES from OUTPUT, a KUBE-SVC chain choosing an
 * endpoint with `statistic --mode random` (probability 1/(n−i) for rule i, printed as kube-proxy does),
 * a KUBE-SEP chain per endpoint with the DNAT. Loaded in one `iptables-restore` transaction.
 */
function installIptables(ns: string, podIps: readonly string[]): void {
  if (!hasCommand('iptables-restore')) throw new Error('iptables not installed (apt-get install -y iptables)');
  const n = podIps.length;
  const lines = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-SVC-BENCH - [0:0]'];
  for (let i = 0; i < n; i++) lines.push(`:KUBE-SEP-BENCH${i + 1} - [0:0]`);
  lines.push('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  lines.push(
    `-A KUBE-SERVICES -d ${CLUSTER_IP}/32 -p tcp -m comment --comment "bench/backend:http cluster IP" -m tcp --dport ${CLUSTER_PORT} -j KUBE-SVC-BENCH`,
  );
  for (let i = 0; i < n; i++) {
    const target = `KUBE-SEP-BENCH${i + 1}`;
    if (i < n - 1) {
      lines.push(
        `-A KUBE-SVC-BENCH -m statistic --mode random --probability ${(1 / (n - i)).toFixed(11)} -j ${target}`,
      );
    } else lines.push(`-A KUBE-SVC-BENCH -j ${target}`);
    lines.push(`-A ${target} -p tcp -m tcp -j DNAT --to-destination ${podIps[i]}:${POD_PORT}`);
  }
  lines.push('COMMIT', '');
  sh(['ip', 'netns', 'exec', ns, 'iptables-restore', '--noflush'], lines.join('\n'));
}

/** kube-proxy's nftables mode, reduced to one ClusterIP: `numgen random mod n` into per-endpoint DNAT chains. */
function installNftables(ns: string, podIps: readonly string[]): void {
  if (!hasCommand('nft')) throw new Error('nft not installed (apt-get install -y nftables)');
  const n = podIps.length;
  const vmap = podIps.map((_, i) => `${i} : goto ep${i + 1}`).join(', ');
  const rules = [
    'table ip clusterip-bench {',
    '  chain services {',
    `    ip daddr ${CLUSTER_IP} tcp dport ${CLUSTER_PORT} goto svc`,
    '  }',
    '  chain svc {',
    `    numgen random mod ${n} vmap { ${vmap} }`,
    '  }',
    ...podIps.flatMap((ip, i) => [
      `  chain ep${i + 1} {`,
      `    counter meta l4proto tcp dnat ip to ${ip}:${POD_PORT}`,
      '  }',
    ]),
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump services',
    '  }',
    '}',
    '',
  ].join('\n');
  sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
}

function counters(ns: string, mode: DnatMode, n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    try {
      if (mode === 'iptables') {
        const text = sh([
          'ip',
          'netns',
          'exec',
          ns,
          'iptables',
          '-t',
          'nat',
          '-L',
          `KUBE-SEP-BENCH${i}`,
          '-v',
          '-x',
          '-n',
        ]);
        const rule = text.split('\n').find((l) => l.includes('DNAT'));
        out.push(Number(rule?.trim().split(/\s+/)[0] ?? Number.NaN));
      } else {
        const text = sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'chain', 'ip', 'clusterip-bench', `ep${i}`]);
        out.push(Number(/counter packets (\d+)/.exec(text)?.[1] ?? Number.NaN));
      }
    } catch {
      out.push(Number.NaN);
    }
  }
  return out;
}
