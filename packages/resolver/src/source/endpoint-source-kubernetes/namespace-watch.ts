// ③ Endpoint source (Kubernetes): one namespace-wide list+watch pair (all Services, all EndpointSlices of
// a namespace) shared by the watched Services of that namespace. Consumes the API through two ListWatches
// without selectors; produces, per member Service, the same list/upsert/delete/failure calls its own
// selected pair would make.

import type { WatchFailedError } from '../../errors/watch-failed-error.js';
import type { ServiceInfo } from '../../service/service-info.js';
import type { KubernetesSourceConfig } from './config.js';
import type { DecodedSlice } from './endpoint-slice-merge.js';
import { type KubeApiClient, KubeApiError } from './kube-api-client.js';
import type { ListWatch } from './list-watch.js';
import { createWatchPair } from './watch-pair.js';

/** Which collection a failure or recovery is about. */
export type WatchedCollection = 'services' | 'slices';

/**
 * A Service fed by a list+watch pair: its own (selected by name) or its namespace's. The calls mirror
 * {@link ListWatchHandlers}, already narrowed to the one Service.
 */
export interface ServiceFeed {
  readonly name: string;
  /** The Service's list completed: the Service, or null when it does not exist. */
  servicesListed(service: ServiceInfo | null): void;
  serviceUpserted(service: ServiceInfo): void;
  serviceDeleted(): void;
  /** The EndpointSlice list completed: every slice labelled with the Service's name. */
  slicesListed(slices: Iterable<DecodedSlice>): void;
  sliceUpserted(slice: DecodedSlice): void;
  sliceDeleted(slice: DecodedSlice): void;
  failed(which: WatchedCollection, error: WatchFailedError): void;
  recovered(which: WatchedCollection): void;
}

/** A member of a {@link NamespaceWatch}: a Service feed, with or without its own pair until it is handed over. */
export interface NamespaceWatchMember extends ServiceFeed {
  /** True while the member runs its own pair: until the hand-over it is fed by that pair alone. */
  readonly feedingItself: boolean;
  /** Start the member's own pair (nothing when it runs one). */
  start(): void;
  /** Take the whole state from the namespace-wide pair at once, and stop the member's own pair if it runs one. */
  handOver(service: ServiceInfo | null, slices: Iterable<DecodedSlice>): void;
}

const NO_SLICES: ReadonlyMap<string, DecodedSlice> = new Map();

/**
 * The Services and EndpointSlices of one namespace, listed and watched once for every member Service.
 * Keeps the decoded objects (a member joining later starts from them without a request of its own) and
 * routes each change to the member it is about: a Service by name, a slice by its
 * `kubernetes.io/service-name` label (a slice relabelled to another Service leaves the first one).
 * Members that already ran their own pairs keep them, and members that joined later wait, until both
 * collections are listed; then every member is handed the state at once (one `reset`) and own pairs stop.
 * A failure before that gives the waiting members their own pairs meanwhile. A failure that a per-Service
 * pair may well not have (403: RBAC that grants Services only by name; an object that does not decode;
 * a list or event over `maxResponseBytes`) calls `onUnusable`, before or after the hand-over: the owner
 * drops this pair and every member gets its own.
 *
 * Known window: a member handed over gets the namespace-wide list's state, which may be older than what
 * its own pair had already delivered; the namespace-wide watch then replays the changes since that list,
 * usually within milliseconds. Keeping the member's newer state instead could lose a change its own pair
 * had not delivered yet, which nothing would replay.
 *
 * Trade-off, as for client-go's namespace informers: two watches instead of two per Service, at the
 * price of receiving every Service and slice change of the namespace.
 *
 * @example
 * ```ts
 * const shared = new NamespaceWatch(config, client, 'prod')
 * shared.join(serviceWatch)
 * shared.start()
 * await shared.stop()
 * ```
 */
export class NamespaceWatch {
  readonly namespace: string;
  readonly #members = new Map<string, NamespaceWatchMember>();
  readonly #services = new Map<string, ServiceInfo>();
  /** Slices by the Service they are labelled with; unlabelled slices are not kept. */
  readonly #slices = new Map<string, Map<string, DecodedSlice>>();
  /** The Service each kept slice is filed under, by slice name. */
  readonly #sliceOwner = new Map<string, string>();
  readonly #listed = { services: false, slices: false };
  readonly #failure: { services: WatchFailedError | undefined; slices: WatchFailedError | undefined } = {
    services: undefined,
    slices: undefined,
  };
  readonly #serviceWatch: ListWatch<ServiceInfo>;
  readonly #sliceWatch: ListWatch<DecodedSlice>;
  readonly #onUnusable: (error: WatchFailedError) => void;
  #synced = false;
  #stopping: Promise<void> | undefined;

  constructor(
    config: KubernetesSourceConfig,
    client: KubeApiClient,
    namespace: string,
    onUnusable: (error: WatchFailedError) => void,
  ) {
    this.namespace = namespace;
    this.#onUnusable = onUnusable;
    const pair = createWatchPair(config, client, namespace, undefined, {
      services: {
        onList: (items) => this.#servicesListed(items),
        onUpsert: (svc) => {
          this.#services.set(svc.name, svc);
          this.#fed(svc.name)?.serviceUpserted(svc);
        },
        onDelete: (svc) => {
          if (this.#services.delete(svc.name)) this.#fed(svc.name)?.serviceDeleted();
        },
        onFailure: (error) => this.#failed('services', error),
        onRecover: () => this.#recovered('services'),
      },
      slices: {
        onList: (items) => this.#slicesListed(items),
        onUpsert: (slice) => this.#sliceUpserted(slice),
        onDelete: (slice) => this.#sliceDeleted(slice.name),
        onFailure: (error) => this.#failed('slices', error),
        onRecover: () => this.#recovered('slices'),
      },
    });
    this.#serviceWatch = pair.services;
    this.#sliceWatch = pair.slices;
  }

  /** Both collections listed at least once: members are fed from here. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Number of member Services. */
  get size(): number {
    return this.#members.size;
  }

  start(): void {
    this.#serviceWatch.start();
    this.#sliceWatch.start();
  }

  /**
   * Add a member. Once synced, it is handed the state now; before, it waits (a member that runs its own
   * pair keeps it), or, while a list fails, starts its own pair.
   */
  join(member: NamespaceWatchMember): void {
    this.#members.set(member.name, member);
    if (this.#synced) {
      member.handOver(this.#services.get(member.name) ?? null, this.#slicesOf(member.name));
      this.#replayFailures(member);
    } else if (this.#failure.services !== undefined || this.#failure.slices !== undefined) member.start();
  }

  /** Remove a member; it gets no call after this. */
  leave(member: NamespaceWatchMember): void {
    if (this.#members.get(member.name) === member) this.#members.delete(member.name);
  }

  /** Stop both loops. Idempotent; no member is called after it resolves. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#members.clear();
      await Promise.all([this.#serviceWatch.stop(), this.#sliceWatch.stop()]);
    })();
    return this.#stopping;
  }

  /** The member `name` once members are fed from here. */
  #fed(name: string): NamespaceWatchMember | undefined {
    return this.#synced ? this.#members.get(name) : undefined;
  }

  #slicesOf(name: string): Iterable<DecodedSlice> {
    return (this.#slices.get(name) ?? NO_SLICES).values();
  }

  #servicesListed(items: readonly ServiceInfo[]): void {
    this.#failure.services = undefined;
    this.#services.clear();
    for (const svc of items) this.#services.set(svc.name, svc);
    this.#listed.services = true;
    if (this.#becameSynced() || !this.#synced) return;
    for (const m of [...this.#members.values()]) m.servicesListed(this.#services.get(m.name) ?? null);
  }

  #slicesListed(items: readonly DecodedSlice[]): void {
    this.#failure.slices = undefined;
    this.#slices.clear();
    this.#sliceOwner.clear();
    for (const slice of items) this.#file(slice);
    this.#listed.slices = true;
    if (this.#becameSynced() || !this.#synced) return;
    for (const m of [...this.#members.values()]) m.slicesListed(this.#slicesOf(m.name));
  }

  /** When the second collection has just been listed: hand every member the whole state. */
  #becameSynced(): boolean {
    if (this.#synced || !this.#listed.services || !this.#listed.slices) return false;
    this.#synced = true;
    for (const m of [...this.#members.values()]) {
      m.handOver(this.#services.get(m.name) ?? null, this.#slicesOf(m.name));
      // A watch failing since its list (the other one listed meanwhile) is still an outage.
      this.#replayFailures(m);
    }
    return true;
  }

  #file(slice: DecodedSlice): void {
    const owner = slice.serviceName;
    if (owner === undefined) return;
    let slices = this.#slices.get(owner);
    if (slices === undefined) {
      slices = new Map();
      this.#slices.set(owner, slices);
    }
    slices.set(slice.name, slice);
    this.#sliceOwner.set(slice.name, owner);
  }

  #sliceUpserted(slice: DecodedSlice): void {
    const before = this.#sliceOwner.get(slice.name);
    if (before !== undefined && before !== slice.serviceName) this.#sliceDeleted(slice.name);
    this.#file(slice);
    if (slice.serviceName !== undefined) this.#fed(slice.serviceName)?.sliceUpserted(slice);
  }

  #sliceDeleted(name: string): void {
    const owner = this.#sliceOwner.get(name);
    if (owner === undefined) return;
    this.#sliceOwner.delete(name);
    const slices = this.#slices.get(owner);
    const slice = slices?.get(name);
    if (slices === undefined || slice === undefined) return;
    slices.delete(name);
    if (slices.size === 0) this.#slices.delete(owner);
    this.#fed(owner)?.sliceDeleted(slice);
  }

  #failed(which: WatchedCollection, error: WatchFailedError): void {
    this.#failure[which] = error;
    const cause = error.cause;
    if (
      cause instanceof KubeApiError &&
      (cause.status === 403 || cause.kind === 'malformed' || cause.kind === 'too-large')
    ) {
      this.#onUnusable(error);
      return;
    }
    const members = [...this.#members.values()];
    if (!this.#synced) for (const m of members) m.start();
    else for (const m of members) m.failed(which, error);
  }

  #recovered(which: WatchedCollection): void {
    this.#failure[which] = undefined;
    if (!this.#synced) return;
    for (const m of [...this.#members.values()]) m.recovered(which);
  }

  #replayFailures(member: NamespaceWatchMember): void {
    const { services, slices } = this.#failure;
    if (services !== undefined) member.failed('services', services);
    if (slices !== undefined) member.failed('slices', slices);
  }
}
