// Local cluster: FakeKubernetesApi + scheduler/kubelet + Deployment controller; pods are real servers on 127.0.0.x.
// Consumes manifests, objects and API changes (kubectl too); produces running pods, their Pod objects and EndpointSlices.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ClosedError,
  InvalidArgumentError,
  KubernetesSource,
  parseResolvConf,
  synthesizeClusterFirst,
} from '@clusterip/resolver';
import { FakeKubernetesApi, type KubeObject } from '@clusterip/resolver/testing';
import { ImageUnavailableError } from '../errors/image-unavailable-error.js';
import { InvalidManifestError } from '../errors/invalid-manifest-error.js';
import { Mesh } from '../mesh/mesh.js';
import { AddressPool } from './address-pool.js';
import { DeploymentController, type DeploymentState } from './deployment-controller.js';
import { clusterDownstream, meshDownstream } from './image.js';
import { Kubelet } from './kubelet.js';
import {
  type LocalClusterConfig,
  type LocalClusterOptions,
  resolveLocalClusterOptions,
} from './local-cluster-options.js';
import type { LocalPod, LocalPodFilter } from './local-pod.js';
import { loadManifestFiles, type ManifestObject, orderForApply, parseManifests } from './manifest-loader.js';

const SUBJECT = 'local cluster';
const CLUSTER_DOMAIN = 'cluster.local';

interface Waiter {
  /** Undefined: keep waiting; true: done; an Error: fail. */
  check(): boolean | Error;
  resolve(): void;
  reject(error: unknown): void;
}

async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-local-cluster-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await promisify(execFile)(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=clusterip-local-cluster',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { timeout: 10_000 },
    );
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
  } catch (cause) {
    throw new InvalidArgumentError(
      'tls',
      `tls: cannot create a self-signed certificate with the openssl CLI: ${(cause as Error).message.split('\n')[0]}`,
      { cause },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function matches(pod: LocalPod, filter: LocalPodFilter): boolean {
  if (filter.namespace !== undefined && pod.namespace !== filter.namespace) return false;
  return Object.entries(filter.labels ?? {}).every(([k, v]) => pod.labels[k] === v);
}

/**
 * An emulated Kubernetes cluster in this process: a FakeKubernetesApi (with the EndpointSlice
 * controller), a scheduler/kubelet that runs every Pod as real servers on its own loopback address,
 * and a Deployment controller (RollingUpdate and Recreate, scale subresource, `kubectl rollout
 * restart`). kubectl and `KubernetesSource` work against it through {@link LocalCluster.kubeconfig}.
 *
 * Pods follow the Kubernetes lifecycle: Pending (address assigned) → Running → Ready after
 * `readyDelayMs`; deletion sets `deletionTimestamp` (EndpointSlices: ready false, serving true,
 * terminating true), then the containers get SIGTERM (`stop(grace)`), then the Pod is removed and its
 * address freed. A crash resets every connection, marks the pod not ready, and restarts it.
 *
 * Lifecycle: `start()` → running → `close()` (idempotent, same promise): stops every container, every
 * Mesh the images use, and the API server; pending waits reject with ClosedError; other methods throw
 * ClosedError afterwards.
 *
 * @example
 * ```ts
 * import { LocalCluster } from '@clusterip/sdk/cluster'
 * const cluster = await LocalCluster.start({ manifests: ['manifests/'] })
 * await writeFile('kubeconfig', cluster.kubeconfig()) // KUBECONFIG=kubeconfig kubectl get deploy,po,svc
 * await cluster.scale('shop', 'web', 5)
 * await cluster.close()
 * ```
 */
export class LocalCluster {
  /** The API server (running the EndpointSlice controller). */
  readonly api: FakeKubernetesApi;
  readonly #pool: AddressPool;
  readonly #kubelet: Kubelet;
  readonly #controller: DeploymentController;
  readonly #unsubscribe: () => void;
  readonly #waiters = new Set<Waiter>();
  readonly #warnings: string[] = [];
  readonly #meshes = new Map<string, Mesh>();
  readonly #failures = new Map<string, Error>();
  #source: KubernetesSource | undefined;
  #token: string | undefined;
  #ca: string | undefined;
  #checkScheduled: NodeJS.Immediate | undefined;
  #closing: Promise<void> | undefined;

  private constructor(api: FakeKubernetesApi, config: LocalClusterConfig, token?: string, ca?: string) {
    this.api = api;
    this.#token = token;
    this.#ca = ca;
    this.#pool = new AddressPool(config.addresses.first, config.addresses.last);
    this.#kubelet = new Kubelet({
      api,
      config,
      pool: this.#pool,
      cluster: this,
      warn: (message) => this.#warn(message),
      changed: () => this.#changed(),
      failed: (namespace, pod, ownerUid, error) => this.#failed(namespace, pod, ownerUid, error),
    });
    this.#controller = new DeploymentController({ api, changed: () => this.#changed() });
    this.#unsubscribe = api.onChange((change) => {
      if (change.namespace === undefined) return;
      if (change.kind === 'Deployment') this.#controller.enqueue(change.namespace, change.name);
      else if (change.kind === 'Pod') {
        this.#kubelet.enqueue(change.namespace, change.name);
        this.#controller.enqueueNamespace(change.namespace);
      }
    });
    clusterDownstream.set(this, (namespace) => meshDownstream(this.#meshFor(namespace)));
  }

  /**
   * Start the API server, register the nodes, apply `manifests` then `objects`, and resolve once
   * every Deployment they define has rolled out (all pods ready).
   *
   * @throws InvalidArgumentError (`CLUSTERIP_ERR_INVALID_ARG`) for bad options or unreadable paths;
   *   InvalidManifestError (`CLUSTERIP_ERR_INVALID_MANIFEST`) for a bad document. Nothing keeps
   *   running after a failed start.
   * @example
   * ```ts
   * const cluster = await LocalCluster.start({ manifests: ['manifests/'], readyDelayMs: 20 })
   * ```
   */
  static async start(options?: LocalClusterOptions): Promise<LocalCluster> {
    const config = resolveLocalClusterOptions(options);
    const warnings: string[] = [];
    // Read manifests before anything starts: a bad one leaves nothing behind.
    const manifests = await loadManifestFiles(config.manifests, warnings);
    let api: FakeKubernetesApi;
    let token: string | undefined;
    let ca: string | undefined;
    if (config.tls) {
      const tls = await selfSignedCert();
      token = randomBytes(24).toString('base64url');
      ca = tls.cert;
      api = await FakeKubernetesApi.start({ tls, token, gracefulPodDeletion: true });
    } else {
      api = await FakeKubernetesApi.start({ gracefulPodDeletion: true });
    }
    const cluster = new LocalCluster(api, config, token, ca);
    cluster.#warnings.push(...warnings);
    try {
      for (const node of config.nodes) {
        api.apply({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: node.name,
            labels: {
              'kubernetes.io/hostname': node.name,
              'kubernetes.io/os': 'linux',
              'topology.kubernetes.io/zone': node.zone,
            },
          },
          spec: {},
          status: {
            conditions: [
              { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
            ],
            addresses: [
              { type: 'InternalIP', address: '127.0.0.1' },
              { type: 'Hostname', address: node.name },
            ],
            nodeInfo: {
              kubeletVersion: 'v1.33.1',
              containerRuntimeVersion: 'clusterip://local',
              operatingSystem: 'linux',
            },
          },
        });
      }
      const extra = config.objects.map((object, i) => ({ object, file: '<options.objects>', document: i + 1 }));
      await cluster.#applyAll([...manifests, ...extra]);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** URL of the API server (`http://127.0.0.1:<port>`, `https://` with `tls`). */
  get url(): string {
    return this.api.url;
  }

  /** Notes about manifests and images so far (skipped kinds, unknown images run as echo-http), oldest first. */
  get warnings(): readonly string[] {
    return [...this.#warnings];
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Kubeconfig text for kubectl and `KubernetesSource.fromKubeconfig` (with the token and CA under `tls`).
   *
   * @example
   * ```ts
   * await writeFile('kubeconfig', cluster.kubeconfig({ namespace: 'shop' }))
   * ```
   */
  kubeconfig(options: { namespace?: string } = {}): string {
    const namespace = options.namespace;
    if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
      throw new InvalidArgumentError('namespace', `namespace must be a non-empty string, got ${String(namespace)}`);
    }
    return this.api.kubeconfig({ name: 'clusterip-local', ...(namespace === undefined ? {} : { namespace }) });
  }

  /**
   * Apply YAML/JSON text (one or more documents) or objects, in the order Namespaces, Services,
   * then the rest, and resolve once the Deployments among them have rolled out. Returns the objects
   * as stored. Kinds the cluster does not serve (RBAC, ConfigMaps, ...) are skipped with a warning.
   *
   * @throws InvalidManifestError naming the document for bad YAML, unknown kinds, missing fields or
   *   objects the API server rejects.
   * @example
   * ```ts
   * await cluster.apply('apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n')
   * ```
   */
  async apply(input: string | KubeObject | readonly KubeObject[]): Promise<KubeObject[]> {
    this.#assertOpen();
    let items: ManifestObject[];
    if (typeof input === 'string') items = parseManifests(input, '<input>', this.#warnings);
    else {
      const objects = Array.isArray(input) ? (input as readonly KubeObject[]) : [input as KubeObject];
      items = [];
      const json = objects.map((o) => JSON.stringify(o ?? null)).join('\n---\n');
      items = parseManifests(json, '<objects>', this.#warnings);
    }
    return this.#applyAll(items);
  }

  async #applyAll(items: readonly ManifestObject[]): Promise<KubeObject[]> {
    const applied: KubeObject[] = [];
    for (const item of orderForApply(items)) {
      const object = item.object;
      try {
        applied.push(this.api.apply(object));
      } catch (cause) {
        const message =
          cause instanceof Error ? cause.message.replace(/^fake kubernetes api: apply: /, '') : String(cause);
        throw new InvalidManifestError(
          item.file,
          item.document,
          `rejected by the API server: ${message}`,
          {
            kind: object.kind,
            name: object.metadata?.name,
          },
          { cause },
        );
      }
    }
    await Promise.all(
      applied
        .filter((o) => o.kind === 'Deployment')
        .map((o) => this.waitForRollout(String(o.metadata?.namespace), String(o.metadata?.name))),
    );
    return applied;
  }

  /**
   * Snapshot of the pods (every pod the kubelet runs, terminating ones included).
   *
   * @example
   * ```ts
   * cluster.pods({ namespace: 'shop', labels: { app: 'web' } }).map((p) => p.ip)
   * ```
   */
  pods(filter: LocalPodFilter = {}): LocalPod[] {
    this.#assertOpen();
    return this.#kubelet.pods().filter((p) => matches(p, filter));
  }

  /**
   * Set a Deployment's replicas; resolves when it has exactly that many ready, non-terminating pods.
   *
   * @example
   * ```ts
   * await cluster.scale('shop', 'web', 5)
   * ```
   */
  async scale(namespace: string, deployment: string, replicas: number): Promise<void> {
    this.#assertOpen();
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > 200) {
      throw new InvalidArgumentError('replicas', `replicas must be an integer from 0 to 200, got ${String(replicas)}`);
    }
    const d = this.#deployment(namespace, deployment);
    this.api.apply({ ...d, spec: { ...(d.spec as Record<string, unknown>), replicas } });
    await this.#wait(namespace, deployment, (s) => s.active === replicas && s.ready === replicas);
  }

  /**
   * Change the pod template (first container's image and/or env) or, with no change, restart it as
   * `kubectl rollout restart` does; RollingUpdate honours maxSurge/maxUnavailable. Resolves when the
   * rollout is complete and the old pods are gone.
   *
   * @example
   * ```ts
   * await cluster.rollout('shop', 'web', { env: { VERSION: '2' } })
   * ```
   */
  async rollout(
    namespace: string,
    deployment: string,
    change: { image?: string; env?: Readonly<Record<string, string>> } = {},
  ): Promise<void> {
    this.#assertOpen();
    const d = this.#deployment(namespace, deployment);
    const spec = { ...(d.spec as Record<string, unknown>) };
    const template = { ...(spec.template as Record<string, unknown>) };
    const podSpec = { ...(template.spec as Record<string, unknown>) };
    const containers = [...((podSpec.containers as Record<string, unknown>[]) ?? [])];
    const first = { ...(containers[0] ?? {}) };
    if (change.image === undefined && change.env === undefined) {
      const meta = { ...((template.metadata as Record<string, unknown>) ?? {}) };
      meta.annotations = {
        ...((meta.annotations as Record<string, string>) ?? {}),
        'kubectl.kubernetes.io/restartedAt': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      template.metadata = meta;
    } else {
      if (change.image !== undefined) {
        if (typeof change.image !== 'string' || change.image === '') {
          throw new InvalidArgumentError(
            'change.image',
            `change.image must be a non-empty string, got ${String(change.image)}`,
          );
        }
        first.image = change.image;
      }
      if (change.env !== undefined) {
        const env = [...((first.env as { name: string; value?: string }[]) ?? [])];
        for (const [name, value] of Object.entries(change.env)) {
          if (typeof value !== 'string') {
            throw new InvalidArgumentError(
              `change.env.${name}`,
              `change.env.${name} must be a string, got ${typeof value}`,
            );
          }
          const i = env.findIndex((e) => e.name === name);
          if (i >= 0) env[i] = { name, value };
          else env.push({ name, value });
        }
        first.env = env;
      }
      containers[0] = first;
      podSpec.containers = containers;
      template.spec = podSpec;
    }
    spec.template = template;
    this.api.apply({ ...d, spec });
    await this.waitForRollout(namespace, deployment);
  }

  /**
   * Wait until a Deployment's rollout is complete: its current generation observed, every replica of
   * the current template ready, no old or terminating pod left.
   *
   * @example
   * ```ts
   * await cluster.waitForRollout('shop', 'web')
   * ```
   */
  waitForRollout(namespace: string, deployment: string): Promise<void> {
    this.#assertOpen();
    this.#deployment(namespace, deployment);
    return this.#wait(
      namespace,
      deployment,
      (s) =>
        s.observedGeneration >= s.generation &&
        s.updated === s.replicas &&
        s.active === s.replicas &&
        s.updatedReady === s.replicas &&
        s.terminating === 0,
    );
  }

  /**
   * Crash a pod's containers abruptly: every socket is reset, listeners closed; the kubelet marks the
   * pod not ready and restarts the containers after a short back-off (restartCount + 1). Resolves
   * once the pod is reported not ready. `pod` is a name, or `namespace/name` when names repeat.
   *
   * @example
   * ```ts
   * await cluster.crash('web-7d9c8bq5d4-x2f4k')
   * ```
   */
  async crash(pod: string): Promise<void> {
    this.#assertOpen();
    const { namespace, name } = this.#pod(pod);
    if (!this.#kubelet.crash(namespace, name)) {
      throw new InvalidArgumentError('pod', `pod ${namespace}/${name}: cannot crash a terminating pod`);
    }
  }

  /**
   * Delete a pod gracefully (as `kubectl delete pod`): it terminates (SIGTERM, grace period), is
   * removed, and its Deployment replaces it. Resolves once the pod is gone.
   *
   * @example
   * ```ts
   * await cluster.deletePod('shop', 'web-7d9c8bq5d4-x2f4k')
   * ```
   */
  async deletePod(namespace: string, name: string): Promise<void> {
    this.#assertOpen();
    const pod = this.api.get('Pod', namespace, name);
    if (pod === undefined)
      throw new InvalidArgumentError('pod', `pod ${namespace}/${name}: not found in the local cluster`);
    const uid = String(pod.metadata?.uid);
    this.api.delete('Pod', namespace, name);
    await this.#waitFor(
      () => this.#kubelet.gone(namespace, name, uid) && this.api.get('Pod', namespace, name)?.metadata?.uid !== uid,
    );
  }

  /**
   * Stop every container, the Meshes of the images, and the API server. Idempotent: every call
   * returns the same promise. Pending waits reject with ClosedError.
   *
   * @example
   * ```ts
   * await cluster.close()
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#unsubscribe();
    this.#controller.close();
    if (this.#checkScheduled !== undefined) clearImmediate(this.#checkScheduled);
    const error = new ClosedError(SUBJECT);
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#waiters.clear();
    await this.#kubelet.close();
    await Promise.all([...this.#meshes.values()].map((m) => m.close().catch(() => {})));
    this.#meshes.clear();
    await this.#source?.close().catch(() => {});
    clusterDownstream.delete(this);
    await this.api.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(SUBJECT);
  }

  #deployment(namespace: string, name: string): KubeObject {
    if (typeof namespace !== 'string' || typeof name !== 'string') {
      throw new InvalidArgumentError('deployment', 'namespace and deployment must be strings');
    }
    const d = this.api.get('Deployment', namespace, name);
    if (d === undefined) {
      throw new InvalidArgumentError('deployment', `deployment ${namespace}/${name}: not found in the local cluster`);
    }
    return d;
  }

  #pod(pod: string): { namespace: string; name: string } {
    if (typeof pod !== 'string' || pod === '')
      throw new InvalidArgumentError('pod', `pod must be a non-empty string, got ${String(pod)}`);
    const found = this.#kubelet.find(pod);
    if (found.length === 0) throw new InvalidArgumentError('pod', `pod ${pod}: not found in the local cluster`);
    if (found.length > 1) {
      throw new InvalidArgumentError(
        'pod',
        `pod ${pod}: ambiguous (${found.map((f) => `${f.namespace}/${f.name}`).join(', ')}): give namespace/name`,
      );
    }
    return found[0] as { namespace: string; name: string };
  }

  #warn(message: string): void {
    this.#warnings.push(message);
    if (this.#warnings.length > 1000) this.#warnings.shift();
  }

  #failed(namespace: string, _pod: string, ownerUid: string | undefined, error: unknown): void {
    // Errors that a restart cannot fix fail the waits on the pod's Deployment.
    if (ownerUid === undefined) return;
    const code = (error as { code?: string })?.code;
    if (
      error instanceof ImageUnavailableError ||
      code === 'CLUSTERIP_ERR_ADDRESS_POOL_EXHAUSTED' ||
      code === 'CLUSTERIP_ERR_ADDRESS_IN_USE'
    ) {
      this.#failures.set(ownerUid, error as Error);
      void namespace;
      this.#changed();
    }
  }

  #wait(namespace: string, deployment: string, done: (state: DeploymentState) => boolean): Promise<void> {
    return this.#waitFor(() => {
      const state = this.#controller.state(namespace, deployment);
      if (state === undefined) {
        return new InvalidArgumentError(
          'deployment',
          `deployment ${namespace}/${deployment}: deleted while waiting for it`,
        );
      }
      const failure = this.#failures.get(state.uid);
      if (failure !== undefined) {
        this.#failures.delete(state.uid);
        return failure;
      }
      return done(state);
    });
  }

  #waitFor(check: () => boolean | Error): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new ClosedError(SUBJECT));
    return new Promise<void>((resolve, reject) => {
      this.#waiters.add({ check, resolve, reject });
      this.#changed();
    });
  }

  /** Re-check waiters after the current burst of changes (one event-loop turn later). */
  #changed(): void {
    if (this.#closing !== undefined || this.#checkScheduled !== undefined) return;
    this.#checkScheduled = setImmediate(() => {
      this.#checkScheduled = undefined;
      for (const waiter of [...this.#waiters]) {
        let verdict: boolean | Error;
        try {
          verdict = waiter.check();
        } catch (error) {
          verdict = error instanceof Error ? error : new Error(String(error));
        }
        if (verdict === false) continue;
        this.#waiters.delete(waiter);
        if (verdict === true) waiter.resolve();
        else waiter.reject(verdict);
      }
    });
  }

  /** The Mesh the built-in images of `namespace` call downstream with (lazily created, closed with the cluster). */
  #meshFor(namespace: string): Mesh {
    if (this.#closing !== undefined) throw new ClosedError(SUBJECT);
    let mesh = this.#meshes.get(namespace);
    if (mesh === undefined) {
      this.#source ??= new KubernetesSource({
        server: this.api.url,
        ...(this.#token === undefined ? {} : { token: this.#token }),
        ...(this.#ca === undefined ? {} : { ca: this.#ca }),
      });
      mesh = new Mesh({
        source: this.#source,
        context: {
          namespace,
          clusterDomain: CLUSTER_DOMAIN,
          dns: synthesizeClusterFirst(parseResolvConf(''), namespace, CLUSTER_DOMAIN),
          env: {},
        },
      });
      this.#meshes.set(namespace, mesh);
    }
    return mesh;
  }
}
