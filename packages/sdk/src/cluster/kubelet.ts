// Local cluster: scheduler + kubelet. Consumes Pod objects (created by the Deployment controller, kubectl or
// manifests); produces running containers on the pod's own 127.0.0.x and the Pod status (IP, Ready, restarts).

import { connect, type Socket } from 'node:net';
import type { FakeKubernetesApi, KubeObject } from '@clusterip/resolver/testing';
import { AddressInUseError } from '../errors/address-in-use-error.js';
import { AddressPoolExhaustedError } from '../errors/address-pool-exhausted-error.js';
import type { AddressPool } from './address-pool.js';
import {
  BUILT_IN_IMAGES,
  type ContainerContext,
  ECHO_HTTP_IMAGE,
  type ImageFactory,
  imageName,
  type RunningContainer,
} from './image.js';
import type { LocalClusterConfig } from './local-cluster-options.js';
import type { LocalPod } from './local-pod.js';
import { ObjectQueue } from './object-queue.js';

/** What the kubelet needs from its cluster. */
export interface KubeletHost {
  readonly api: FakeKubernetesApi;
  readonly config: LocalClusterConfig;
  readonly pool: AddressPool;
  /** The cluster object handed to image factories. */
  readonly cluster: ContainerContext['cluster'];
  warn(message: string): void;
  /** A pod changed in a way waiters may care about. */
  changed(): void;
  /** A container of a pod failed to start. */
  failed(namespace: string, pod: string, ownerUid: string | undefined, error: unknown): void;
}

interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly ports: readonly { name?: string; containerPort: number; protocol: string }[];
  readonly env: Readonly<Record<string, string>>;
}

type Phase = 'starting' | 'running' | 'backoff' | 'stopping';

interface PodRuntime {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Changes only while the pod never ran (its first address was taken by another process). */
  ip: string;
  readonly node: string;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerUid: string | undefined;
  readonly containers: readonly ContainerSpec[];
  readonly startTime: string;
  running: RunningContainer[];
  phase: Phase;
  ready: boolean;
  terminating: boolean;
  restarts: number;
  /** Bumped on every (re)start and crash: a start that finishes late for an old attempt is discarded. */
  attempt: number;
  lastTermination: Record<string, unknown> | undefined;
  waitingReason: string | undefined;
  waitingMessage: string | undefined;
  readyAt: string | undefined;
  timer: NodeJS.Timeout | undefined;
  stopped: Promise<void> | undefined;
  /** How often the pod moved to another address before it ever ran. */
  relocations?: number;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function containersOf(pod: KubeObject): ContainerSpec[] {
  return list(record(pod.spec).containers).map((c) => {
    const container = record(c);
    const env: Record<string, string> = {};
    for (const e of list(container.env)) {
      const entry = record(e);
      if (typeof entry.name === 'string') env[entry.name] = typeof entry.value === 'string' ? entry.value : '';
    }
    return {
      name: String(container.name ?? ''),
      image: String(container.image ?? ''),
      ports: list(container.ports).map((p) => {
        const port = record(p);
        return {
          ...(typeof port.name === 'string' ? { name: port.name } : {}),
          containerPort: Number(port.containerPort),
          protocol: typeof port.protocol === 'string' ? port.protocol : 'TCP',
        };
      }),
      env,
    };
  });
}

/**
 * Runs pods: assigns a node and an address to each new Pod object, starts its containers through
 * the image factories, reports readiness `readyDelayMs` after they listen, restarts crashed
 * containers, and follows the termination sequence when the Pod gets a `deletionTimestamp`
 * (SIGTERM = `stop(grace)`, then removal of the Pod object, then release of its address).
 * Every callback runs on the event loop after the API change that caused it; nothing runs after `close()`.
 */
export class Kubelet {
  readonly #host: KubeletHost;
  readonly #pods = new Map<string, PodRuntime>();
  readonly #queue = new ObjectQueue((namespace, name, key) => this.#sync(namespace, name, key));
  readonly #warnedImages = new Set<string>();
  /** Pods left Pending for want of an address: admitted again when one is released. */
  readonly #unplaced = new Set<string>();
  /** Containers killed but whose listeners may not be released yet. */
  readonly #dying = new Set<Promise<void>>();
  #closed = false;
  #nextNode = 0;

  constructor(host: KubeletHost) {
    this.#host = host;
  }

  /** A Pod object changed (or went away): look at it soon. */
  enqueue(namespace: string, name: string): void {
    if (this.#closed) return;
    this.#queue.add(namespace, name);
  }

  /** Snapshot of the running pods. */
  pods(): LocalPod[] {
    return [...this.#pods.values()]
      .map((rt) => {
        const view = this.#view(rt);
        if (view.terminating) return view;
        // The API may already have marked it (the kubelet reacts one turn later): report that.
        const marked = this.#host.api.get('Pod', rt.namespace, rt.name)?.metadata?.deletionTimestamp !== undefined;
        return marked ? Object.freeze({ ...view, terminating: true }) : view;
      })
      .sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  }

  /** The runtime of a pod by `name` or `namespace/name`. */
  find(pod: string): { namespace: string; name: string }[] {
    const matches = [...this.#pods.values()].filter((rt) => rt.name === pod || `${rt.namespace}/${rt.name}` === pod);
    return matches.map((rt) => ({ namespace: rt.namespace, name: rt.name }));
  }

  /** True once the pod (by key) has no runtime any more. */
  gone(namespace: string, name: string, uid: string): boolean {
    const rt = this.#pods.get(`${namespace}/${name}`);
    return rt === undefined || rt.uid !== uid;
  }

  /**
   * Kill the pod's containers abruptly (RST on every socket), mark it not ready, and restart the
   * containers after `restartBackoffMs`. Resolves once the not-ready status is written.
   */
  crash(namespace: string, name: string): boolean {
    const rt = this.#pods.get(`${namespace}/${name}`);
    if (rt === undefined || rt.terminating) return false;
    this.#killContainers(rt);
    rt.attempt++;
    rt.ready = false;
    rt.readyAt = undefined;
    rt.lastTermination = { terminated: { exitCode: 137, reason: 'Error', startedAt: rt.startTime, finishedAt: now() } };
    this.#backoff(rt, 'CrashLoopBackOff', `back-off restarting failed container`);
    return true;
  }

  /** Stop every container now (grace 0) and forget every pod. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    const stops: Promise<void>[] = [];
    for (const rt of this.#pods.values()) {
      clearTimeout(rt.timer);
      rt.attempt++;
      for (const container of rt.running) stops.push(container.stop(0).catch(() => {}));
      rt.running = [];
      if (rt.stopped !== undefined) stops.push(rt.stopped.catch(() => {}));
    }
    this.#pods.clear();
    await Promise.all([...stops, ...this.#dying]);
  }

  #view(rt: PodRuntime): LocalPod {
    return Object.freeze({
      name: rt.name,
      namespace: rt.namespace,
      ip: rt.ip,
      node: rt.node,
      zone: rt.zone,
      labels: rt.labels,
      image: rt.containers[0]?.image ?? '',
      ready: rt.ready,
      terminating: rt.terminating,
      restarts: rt.restarts,
      ports: Object.freeze(rt.containers.flatMap((c) => c.ports)),
    });
  }

  #sync(namespace: string, name: string, key: string): void {
    if (this.#closed) return;
    const api = this.#host.api;
    const pod = api.get('Pod', namespace, name);
    const rt = this.#pods.get(key);
    if (rt !== undefined && (pod === undefined || pod.metadata?.uid !== rt.uid)) {
      // Removed behind the kubelet's back (force delete, namespace delete): SIGKILL.
      this.#pods.delete(key);
      rt.attempt++;
      clearTimeout(rt.timer);
      this.#killContainers(rt);
      this.#release(rt.ip);
      this.#host.changed();
      if (pod !== undefined) this.enqueue(namespace, name);
      return;
    }
    if (pod === undefined) return;
    if (rt === undefined) {
      this.#admit(key, pod);
      return;
    }
    if (pod.metadata?.deletionTimestamp !== undefined && !rt.terminating) this.#terminate(rt, pod);
  }

  /** Schedule and start a new pod, unless it is not ours to run. */
  #admit(key: string, pod: KubeObject): void {
    const api = this.#host.api;
    const meta = pod.metadata ?? {};
    const status = record(pod.status);
    if (meta.deletionTimestamp !== undefined) {
      // Deleted before it ever ran: nothing to stop.
      api.delete('Pod', meta.namespace, String(meta.name), { gracePeriodSeconds: 0 });
      return;
    }
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return;
    // A pod written with an IP already (a test's hand-made pod) belongs to whoever wrote it.
    if (typeof status.podIP === 'string' && status.podIP !== '') return;
    const spec = record(pod.spec);
    const nodes = this.#host.config.nodes;
    let node = nodes.find((n) => n.name === spec.nodeName);
    if (node === undefined) {
      node = nodes[this.#nextNode % nodes.length] as (typeof nodes)[number];
      this.#nextNode++;
    }
    const ip = this.#host.pool.allocate();
    const podName = `${String(meta.namespace)}/${String(meta.name)}`;
    if (ip === undefined) {
      const error = new AddressPoolExhaustedError(podName, this.#host.config.addresses.text, this.#host.pool.inUse);
      if (!this.#unplaced.has(key)) {
        this.#unplaced.add(key);
        this.#host.warn(error.message);
        this.#host.failed(String(meta.namespace), String(meta.name), ownerOf(pod), error);
      }
      return;
    }
    this.#unplaced.delete(key);
    const rt: PodRuntime = {
      uid: String(meta.uid),
      namespace: String(meta.namespace),
      name: String(meta.name),
      ip,
      node: node.name,
      zone: node.zone,
      labels: Object.freeze({ ...(meta.labels ?? {}) }),
      ownerUid: ownerOf(pod),
      containers: containersOf(pod),
      startTime: now(),
      running: [],
      phase: 'starting',
      ready: false,
      terminating: false,
      restarts: 0,
      attempt: 0,
      lastTermination: undefined,
      waitingReason: 'ContainerCreating',
      waitingMessage: undefined,
      readyAt: undefined,
      timer: undefined,
      stopped: undefined,
    };
    this.#pods.set(key, rt);
    this.#write(rt, { nodeName: node.name });
    this.#start(rt);
  }

  #factory(image: string): ImageFactory {
    const name = imageName(image);
    const factory = this.#host.config.images[image] ?? this.#host.config.images[name] ?? BUILT_IN_IMAGES[name];
    if (factory !== undefined) return factory;
    if (!this.#warnedImages.has(name)) {
      this.#warnedImages.add(name);
      this.#host.warn(
        `image ${image}: not a local image: running ${ECHO_HTTP_IMAGE} in its place (give options.images[${JSON.stringify(name)}] to run your own)`,
      );
    }
    return BUILT_IN_IMAGES[ECHO_HTTP_IMAGE] as ImageFactory;
  }

  #start(rt: PodRuntime): void {
    const attempt = ++rt.attempt;
    rt.phase = 'starting';
    const view = this.#view(rt);
    const starts = rt.containers.map((c) =>
      this.#factory(c.image)({
        pod: view,
        host: rt.ip,
        container: { name: c.name, image: c.image, ports: c.ports, env: { ...c.env } },
        cluster: this.#host.cluster,
      }),
    );
    void Promise.allSettled(starts).then((results) => {
      const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (this.#closed || attempt !== rt.attempt || rt.terminating) {
        for (const c of started) this.#track(c.stop(0));
        return;
      }
      if (failure !== undefined) {
        for (const c of started) {
          c.kill();
          this.#track(c.stop(0));
        }
        let error = failure.reason;
        let fatal = true;
        const inUse = error as (NodeJS.ErrnoException & { port?: unknown }) | undefined;
        if (inUse?.code === 'EADDRINUSE') {
          const neverRan = rt.restarts === 0 && rt.readyAt === undefined;
          if (neverRan) {
            // Another process (another local cluster?) listens on this address. Like a failed pod sandbox,
            // the pod gets a new sandbox with a new address; the taken one stays held so it is not offered again.
            const next = (rt.relocations ?? 0) < 10 ? this.#host.pool.allocate() : undefined;
            if (next !== undefined) {
              this.#host.warn(
                `pod ${rt.namespace}/${rt.name}: address ${rt.ip} is in use by another process: moved to ${next}`,
              );
              rt.relocations = (rt.relocations ?? 0) + 1;
              rt.ip = next;
              this.#write(rt);
              this.#start(rt);
              return;
            }
          }
          // Nowhere to move: name the address:port taken and fail the waits on the Deployment rather than
          // leave them hanging on a crash loop. Not when our own killed containers may still hold it (a
          // restarted pod keeps its address; a force-deleted pod's address is freed at once): those are
          // retried after the back-off, as before.
          fatal = neverRan && this.#dying.size === 0;
          const port = typeof inUse.port === 'number' ? inUse.port : undefined;
          error = new AddressInUseError(`${rt.namespace}/${rt.name}`, port === undefined ? rt.ip : `${rt.ip}:${port}`, {
            cause: error,
          });
        }
        const message = error instanceof Error ? error.message : String(error);
        this.#host.warn(`pod ${rt.namespace}/${rt.name}: container failed to start: ${message}`);
        if (fatal) this.#host.failed(rt.namespace, rt.name, rt.ownerUid, error);
        rt.lastTermination = { terminated: { exitCode: 1, reason: 'Error', message, finishedAt: now() } };
        this.#backoff(rt, 'CrashLoopBackOff', message);
        return;
      }
      rt.running = started;
      rt.phase = 'running';
      rt.waitingReason = undefined;
      rt.waitingMessage = undefined;
      const delay = this.#host.config.readyDelayMs;
      if (delay === 0) {
        this.#becomeReady(rt);
        return;
      }
      this.#write(rt);
      rt.timer = setTimeout(() => {
        rt.timer = undefined;
        if (!this.#closed && attempt === rt.attempt && !rt.terminating) this.#becomeReady(rt);
      }, delay);
      rt.timer.unref();
    });
  }

  #becomeReady(rt: PodRuntime): void {
    rt.ready = true;
    rt.readyAt = now();
    this.#write(rt);
  }

  #backoff(rt: PodRuntime, reason: string, message: string): void {
    rt.phase = 'backoff';
    rt.waitingReason = reason;
    rt.waitingMessage = message;
    this.#write(rt);
    clearTimeout(rt.timer);
    // Kubernetes doubles the back-off per restart (10 s … 5 min); here: restartBackoffMs doubling, ≤ 5 s.
    const delay = Math.min(5000, this.#host.config.restartBackoffMs * 2 ** Math.min(rt.restarts, 6));
    const attempt = rt.attempt;
    rt.timer = setTimeout(() => {
      rt.timer = undefined;
      if (this.#closed || attempt !== rt.attempt || rt.terminating) return;
      rt.restarts++;
      this.#start(rt);
    }, delay);
    rt.timer.unref();
  }

  /** SIGKILL: reset every connection now; close() still waits for the listeners to be released. */
  /** Give an address back and retry the pods that were waiting for one. */
  #release(ip: string): void {
    this.#host.pool.release(ip);
    for (const key of this.#unplaced) {
      const slash = key.indexOf('/');
      this.enqueue(key.slice(0, slash), key.slice(slash + 1));
    }
  }

  #killContainers(rt: PodRuntime): void {
    for (const container of rt.running) {
      container.kill();
      this.#track(container.stop(0));
    }
    rt.running = [];
  }

  #track(done: Promise<void>): void {
    const settled = done.catch(() => {});
    this.#dying.add(settled);
    void settled.then(() => this.#dying.delete(settled));
  }

  /**
   * The termination sequence (pod lifecycle, "Termination of Pods"): the Pod has a
   * deletionTimestamp, so the EndpointSlice controller already publishes it `ready: false,
   * serving: <Ready>, terminating: true`. Send SIGTERM (`stop(grace)`), SIGKILL what is left after
   * the grace period, report the containers terminated, remove the Pod, then free its address.
   */
  #terminate(rt: PodRuntime, pod: KubeObject): void {
    rt.terminating = true;
    rt.phase = 'stopping';
    clearTimeout(rt.timer);
    rt.timer = undefined;
    const meta = pod.metadata ?? {};
    const seconds =
      typeof meta.deletionGracePeriodSeconds === 'number'
        ? meta.deletionGracePeriodSeconds
        : Number(record(pod.spec).terminationGracePeriodSeconds ?? 30);
    const bound = this.#host.config.terminationGraceMs;
    const grace = bound === undefined ? Math.min(2000, seconds * 100) : Math.min(seconds * 1000, bound);
    this.#host.changed();
    const running = rt.running;
    const probe = this.#probeWhileStopping(rt);
    rt.stopped = (async () => {
      // stop() honours the grace period itself; the timer only guards against a factory whose stop hangs.
      await Promise.all(
        running.map(
          (c) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, grace + 1000);
              timer.unref();
              c.stop(grace)
                .catch(() => {})
                .finally(() => {
                  clearTimeout(timer);
                  resolve();
                });
            }),
        ),
      );
      probe.stop();
      for (const c of running) {
        c.kill();
        this.#track(c.stop(0));
      }
      if (this.#closed) return;
      rt.running = [];
      rt.ready = false;
      rt.lastTermination = undefined;
      this.#write(rt, undefined, true);
      const key = `${rt.namespace}/${rt.name}`;
      const current = this.#host.api.get('Pod', rt.namespace, rt.name);
      if (current?.metadata?.uid === rt.uid) {
        this.#host.api.delete('Pod', rt.namespace, rt.name, { gracePeriodSeconds: 0 });
      }
      if (this.#pods.get(key) === rt) this.#pods.delete(key);
      this.#release(rt.ip);
      this.#host.changed();
    })();
  }

  /**
   * The readiness probe during termination (a `tcpSocket` probe on the first container port, every
   * `readyDelayMs`, at least 10 ms): while the server still accepts connections the pod stays Ready,
   * so EndpointSlices say `serving: true`; once it refuses them the pod turns not Ready (`serving:
   * false`), as the kubelet's probes would report. No probe without a port.
   */
  #probeWhileStopping(rt: PodRuntime): { stop(): void } {
    const port = rt.containers.flatMap((c) => c.ports).find((p) => p.protocol === 'TCP')?.containerPort;
    if (port === undefined || !rt.ready) return { stop() {} };
    let stopped = false;
    let socket: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      timer = setTimeout(run, Math.max(10, this.#host.config.readyDelayMs));
      timer.unref();
    };
    const run = () => {
      if (stopped || this.#closed) return;
      socket = connect({ host: rt.ip, port });
      socket.unref();
      socket.once('connect', () => {
        socket?.destroy();
        if (!stopped) schedule();
      });
      socket.once('error', () => {
        socket?.destroy();
        if (stopped || this.#closed) return;
        stopped = true;
        rt.ready = false;
        this.#write(rt);
      });
    };
    schedule();
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
        socket?.destroy();
      },
    };
  }

  /** Write the Pod's status (and nodeName on scheduling) from the runtime. */
  #write(rt: PodRuntime, schedule?: { nodeName: string }, terminated = false): void {
    if (this.#closed) return;
    const api = this.#host.api;
    const pod = api.get('Pod', rt.namespace, rt.name);
    if (pod === undefined || pod.metadata?.uid !== rt.uid) return;
    const previous = record(pod.status);
    const previousConditions = list(previous.conditions).map(record);
    const at = now();
    const condition = (type: string, status: boolean) => {
      const text = status ? 'True' : 'False';
      const old = previousConditions.find((c) => c.type === type);
      return {
        type,
        status: text,
        lastProbeTime: null,
        lastTransitionTime: old !== undefined && old.status === text ? old.lastTransitionTime : at,
      };
    };
    const containerStatuses = rt.containers.map((c) => {
      let state: Record<string, unknown>;
      if (terminated)
        state = { terminated: { exitCode: 0, reason: 'Completed', startedAt: rt.startTime, finishedAt: at } };
      else if (rt.phase === 'running' || rt.phase === 'stopping') state = { running: { startedAt: rt.startTime } };
      else
        state = {
          waiting: {
            reason: rt.waitingReason ?? 'ContainerCreating',
            ...(rt.waitingMessage ? { message: rt.waitingMessage } : {}),
          },
        };
      return {
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: `local://${rt.uid}/${c.name}/${rt.restarts}`,
        ready: rt.ready && !terminated,
        started: rt.phase === 'running' || rt.phase === 'stopping',
        restartCount: rt.restarts,
        state,
        lastState: rt.lastTermination ?? {},
      };
    });
    const status = {
      phase: terminated ? 'Succeeded' : rt.phase === 'starting' && rt.restarts === 0 ? 'Pending' : 'Running',
      conditions: [
        condition('PodReadyToStartContainers', true),
        condition('Initialized', true),
        condition('Ready', rt.ready && !terminated),
        condition('ContainersReady', rt.ready && !terminated),
        condition('PodScheduled', true),
      ],
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: rt.ip,
      podIPs: [{ ip: rt.ip }],
      startTime: rt.startTime,
      containerStatuses,
      qosClass: previous.qosClass ?? 'BestEffort',
    };
    const spec = record(pod.spec);
    api.apply({
      ...pod,
      spec: schedule === undefined ? spec : { ...spec, nodeName: schedule.nodeName },
      status,
    });
    this.#host.changed();
  }
}

function ownerOf(pod: KubeObject): string | undefined {
  const owner = (pod.metadata?.ownerReferences ?? []).find((ref) => ref.controller === true);
  return typeof owner?.uid === 'string' ? owner.uid : undefined;
}
