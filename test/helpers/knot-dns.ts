// Test helper: a real authoritative DNS server (Knot DNS `knotd`) on a loopback port, serving zones
// shaped like CoreDNS's Kubernetes answers (spec §1). Consumes zone texts; produces a running server.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { ExecutionContext } from 'ava';

/**
 * The cluster zone, as CoreDNS's `kubernetes` plugin would answer it (TTL 5, SOA minimum 5).
 * Every address is on loopback so tests could really connect to it.
 *
 * - `web.default`: ClusterIP 127.0.0.10, one port `http` 8080 (named SRV + CoreDNS bare-name SRV)
 * - `multi.default`: ClusterIP 127.0.0.12, ports `http` 80 and `metrics` 9090 (two bare-name SRVs)
 * - `dual.default`: dual-stack ClusterIP 127.0.0.11 + ::1, port `http` 8080 (weight 50: two address items)
 * - `db.default`: headless, pods db-0..2 at 127.0.1.1-3, port `grpc` 50051
 * - `ext.default`: ExternalName → `api.example.test` (served in the second zone)
 * - `ext2.default`: ExternalName → `web.default.svc.cluster.local` (inside the cluster zone)
 * - `nope.default` and `*.other`: NXDOMAIN; `default.svc`, `web.default` AAAA/TXT: NODATA
 */
export const CLUSTER_ZONE = `$ORIGIN cluster.local.
$TTL 5
@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ( 1 7200 1800 86400 5 )
@ IN NS ns.dns.cluster.local.
ns.dns IN A 127.0.0.53
dns-version IN TXT "1.1.0"
web.default.svc IN A 127.0.0.10
web.default.svc IN SRV 0 100 8080 web.default.svc.cluster.local.
_http._tcp.web.default.svc IN SRV 0 100 8080 web.default.svc.cluster.local.
multi.default.svc IN A 127.0.0.12
multi.default.svc IN SRV 0 50 80 multi.default.svc.cluster.local.
multi.default.svc IN SRV 0 50 9090 multi.default.svc.cluster.local.
_http._tcp.multi.default.svc IN SRV 0 100 80 multi.default.svc.cluster.local.
_metrics._tcp.multi.default.svc IN SRV 0 100 9090 multi.default.svc.cluster.local.
dual.default.svc IN A 127.0.0.11
dual.default.svc IN AAAA ::1
_http._tcp.dual.default.svc IN SRV 0 50 8080 dual.default.svc.cluster.local.
db.default.svc IN A 127.0.1.1
db.default.svc IN A 127.0.1.2
db.default.svc IN A 127.0.1.3
db.default.svc IN SRV 0 33 50051 db-0.db.default.svc.cluster.local.
db.default.svc IN SRV 0 33 50051 db-1.db.default.svc.cluster.local.
db.default.svc IN SRV 0 33 50051 db-2.db.default.svc.cluster.local.
db-0.db.default.svc IN A 127.0.1.1
db-1.db.default.svc IN A 127.0.1.2
db-2.db.default.svc IN A 127.0.1.3
_grpc._tcp.db.default.svc IN SRV 0 33 50051 db-0.db.default.svc.cluster.local.
_grpc._tcp.db.default.svc IN SRV 0 33 50051 db-1.db.default.svc.cluster.local.
_grpc._tcp.db.default.svc IN SRV 0 33 50051 db-2.db.default.svc.cluster.local.
ext.default.svc IN CNAME api.example.test.
ext2.default.svc IN CNAME web.default.svc.cluster.local.
127-0-2-1.default.pod IN A 127.0.2.1
`;

/** A second zone, standing for the world outside the cluster (ExternalName targets). */
export const EXAMPLE_ZONE = `$ORIGIN example.test.
$TTL 5
@ IN SOA ns.example.test. hostmaster.example.test. ( 1 7200 1800 86400 5 )
@ IN NS ns.example.test.
ns IN A 127.0.0.54
api IN A 127.0.0.20
www IN CNAME api.example.test.
_https._tcp.api IN SRV 0 100 8443 api.example.test.
`;

/** Options of {@link startKnotDns}. */
export interface KnotDnsOptions {
  /** Zone origin (no trailing dot) → zone file text. Default: cluster.local and example.test. */
  readonly zones?: Readonly<Record<string, string>>;
}

/** A running (or stopped) knotd started by {@link startKnotDns}. */
export interface KnotDns {
  /** `127.0.0.1:<port>`, ready for `DnsSource({ servers: [server] })` or `Resolver.setServers`. */
  readonly server: string;
  readonly port: number;
  /**
   * Add a record at run time (one knotc transaction); visible to the next query. `name` is absolute
   * (`new.default.svc.cluster.local.`). Kept across `stop()`/`start()`.
   */
  set(name: string, type: string, ttl: number, data: string): Promise<void>;
  /** Remove records of `name`/`type` (only the one with `data` when given). Kept across restarts. */
  unset(name: string, type: string, data?: string): Promise<void>;
  /** Stop the server (SIGTERM, wait for exit). The port stays reserved for `start()`. */
  stop(): Promise<void>;
  /** Start it again on the same port, replay run-time edits, and wait until it answers. */
  start(): Promise<void>;
}

const KNOT_MISSING = 'knotd (Knot DNS) not found: install it: apt-get install -y knot';

/** Find an executable on PATH or in the sbin folders that non-root PATHs omit. */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** A port that is free for both UDP and TCP on 127.0.0.1 right now (knotd listens on both). */
async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('knot-dns: no free UDP+TCP port on 127.0.0.1 after 20 attempts');
}

function config(dir: string, port: number, zones: readonly string[]): string {
  return [
    'server:',
    `    listen: 127.0.0.1@${port}`,
    `    rundir: "${dir}/run"`,
    `    pidfile: "${dir}/run/knot.pid"`,
    'log:',
    '  - target: stderr',
    '    any: warning',
    'database:',
    `    storage: "${dir}/run/db"`,
    'control:',
    `    listen: "${dir}/run/knot.sock"`,
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    '    journal-content: none',
    'zone:',
    ...zones.flatMap((z) => [`  - domain: ${z}`, `    file: ${z}.zone`]),
    '',
  ].join('\n');
}

function execFileText(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Start knotd in the foreground on a free loopback port with `zones`, wait until it answers, and
 * register `t.teardown` to kill it and delete its files. Fails the test when knotd is missing.
 *
 * @example
 * ```ts
 * const dns = await startKnotDns(t)
 * const source = new DnsSource({ servers: [dns.server] })
 * await dns.set('new.default.svc.cluster.local.', 'A', 1, '127.0.0.30')
 * ```
 */
export async function startKnotDns(
  t: Pick<ExecutionContext, 'teardown'>,
  options: KnotDnsOptions = {},
): Promise<KnotDns> {
  const knotd = findExecutable('knotd');
  const knotc = findExecutable('knotc');
  if (knotd === undefined || knotc === undefined) {
    throw new Error(process.env.CI ? `${KNOT_MISSING} (CI must install it, see .ci/run)` : KNOT_MISSING);
  }
  const zones = options.zones ?? { 'cluster.local': CLUSTER_ZONE, 'example.test': EXAMPLE_ZONE };
  const origins = Object.keys(zones);
  const firstOrigin = origins[0];
  if (firstOrigin === undefined) throw new Error('knot-dns: at least one zone is needed');

  const dir = await mkdtemp(join(tmpdir(), 'clusterip-knot-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let closed = false;
  t.teardown(async () => {
    closed = true;
    await stopChild();
    await rm(dir, { recursive: true, force: true });
  });

  await mkdir(join(dir, 'run', 'db'), { recursive: true });
  for (const [origin, text] of Object.entries(zones)) await writeFile(join(dir, `${origin}.zone`), text);
  const confPath = join(dir, 'knot.conf');
  const edits: { zone: string; args: string[] }[] = [];

  let port = 0;

  async function stopChild(): Promise<void> {
    const c = child;
    child = undefined;
    if (c === undefined) return;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await exited;
  }

  /** Spawn knotd on `port`; resolves when it answers, rejects when it exits first (e.g. bind failure). */
  async function spawnAndWait(): Promise<void> {
    await writeFile(confPath, config(dir, port, origins));
    let stderr = '';
    const c = spawn(knotd as string, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    let exitedEarly = false;
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => {
        exitedEarly = true;
        resolve();
      });
      c.once('error', () => {
        exitedEarly = true;
        resolve();
      });
    });
    const probe = new dnsPromises.Resolver({ timeout: 50, tries: 1 });
    probe.setServers([`127.0.0.1:${port}`]);
    const deadline = Date.now() + 10_000;
    // Poll a real query until it answers: knotd has no readiness signal on stdout.
    for (;;) {
      if (exitedEarly) throw new Error(`knot-dns: knotd exited while starting on port ${port}: ${stderr.trim()}`);
      try {
        await probe.resolveSoa(firstOrigin as string);
        return;
      } catch {
        if (Date.now() > deadline) {
          await stopChild();
          throw new Error(`knot-dns: knotd did not answer on port ${port} within 10 s: ${stderr.trim()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  async function knotcRun(args: readonly string[]): Promise<void> {
    await execFileText(knotc as string, ['-c', confPath, ...args]);
  }

  async function transaction(zone: string, ops: readonly string[][]): Promise<void> {
    await knotcRun(['zone-begin', zone]);
    try {
      for (const op of ops) await knotcRun(op);
      await knotcRun(['zone-commit', zone]);
    } catch (err) {
      await knotcRun(['zone-abort', zone]).catch(() => undefined);
      throw err;
    }
  }

  function zoneOf(name: string): string {
    const lower = name.toLowerCase().replace(/\.$/, '');
    let best: string | undefined;
    for (const origin of origins) {
      if ((lower === origin || lower.endsWith(`.${origin}`)) && (best === undefined || origin.length > best.length)) {
        best = origin;
      }
    }
    if (best === undefined) throw new Error(`knot-dns: ${name} is in none of the zones ${origins.join(', ')}`);
    return best;
  }

  const absolute = (name: string): string => (name.endsWith('.') ? name : `${name}.`);

  async function edit(name: string, args: string[]): Promise<void> {
    if (child === undefined) throw new Error('knot-dns: server is stopped; start() it before editing records');
    const zone = zoneOf(name);
    await transaction(zone, [args]);
    edits.push({ zone, args });
  }

  // Bind failures (another process took the port between our probe and knotd's bind) are retried
  // with a new port.
  for (let attempt = 1; ; attempt++) {
    port = await freeUdpTcpPort();
    try {
      await spawnAndWait();
      break;
    } catch (err) {
      await stopChild();
      if (attempt >= 5) throw err;
    }
  }

  return {
    get server() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    set: (name, type, ttl, data) =>
      edit(name, ['zone-set', zoneOf(name), absolute(name), String(ttl), type, ...data.split(' ')]),
    unset: (name, type, data) =>
      edit(name, ['zone-unset', zoneOf(name), absolute(name), type, ...(data === undefined ? [] : data.split(' '))]),
    stop: stopChild,
    async start() {
      if (closed) throw new Error('knot-dns: closed');
      if (child !== undefined) return;
      // Same port on purpose (clients keep their server list); retry briefly if the kernel still
      // holds it.
      for (let attempt = 1; ; attempt++) {
        try {
          await spawnAndWait();
          break;
        } catch (err) {
          await stopChild();
          if (attempt >= 5) throw err;
        }
      }
      const byZone = new Map<string, string[][]>();
      for (const e of edits) byZone.set(e.zone, [...(byZone.get(e.zone) ?? []), e.args]);
      for (const [zone, ops] of byZone) await transaction(zone, ops);
    },
  };
}
