// Local cluster: options of LocalCluster.start, validated once (before anything starts) and frozen.
// Consumes user options; produces a fully-defaulted frozen config.

import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '@clusterip/resolver';
import type { KubeObject } from '@clusterip/resolver/testing';
import { asRecord, describe, integerIn, rejectUnknownKeys } from '../internal/options.js';
import type { ImageFactory } from './image.js';

/**
 * Options of {@link LocalCluster.start}. Every key is optional; unknown keys are rejected.
 *
 * @example
 * ```ts
 * const cluster = await LocalCluster.start({ manifests: ['manifests/'], readyDelayMs: 20 })
 * ```
 */
export interface LocalClusterOptions {
  /**
   * Files or directories (`*.yaml`, `*.yml`, `*.json`, multi-document YAML) applied at start:
   * Namespaces first, then Services, then everything else (workloads).
   */
  readonly manifests?: readonly string[];
  /** Extra objects, applied after the manifests. */
  readonly objects?: readonly KubeObject[];
  /** Nodes, as Node objects labelled `topology.kubernetes.io/zone` (default node-a/b/c in zone-a/b/c). */
  readonly nodes?: readonly { name: string; zone: string }[];
  /** Pod IP pool on loopback (default 127.0.0.20 … 127.0.0.250); an address is reused only once its pod is gone. */
  readonly addresses?: { first: string; last: string };
  /** Extra images, or overrides of the built-ins (`clusterip/echo-http`, `clusterip/echo-grpc`). */
  readonly images?: Readonly<Record<string, ImageFactory>>;
  /** Serve the API over TLS with a fresh self-signed certificate (needs the `openssl` CLI); kubectl then sends the token. */
  readonly tls?: boolean;
  /** Kubelet readiness: time from a container listening to its pod being Ready (default 50, 0-60000). */
  readonly readyDelayMs?: number;
  /**
   * Upper bound of a pod's grace period, in ms. Default: the pod's grace period scaled down to 100 ms
   * per second (`terminationGracePeriodSeconds: 30` → 2000), at most 2000.
   */
  readonly terminationGraceMs?: number;
  /** Delay before a crashed container restarts (default 100, 0-60000). */
  readonly restartBackoffMs?: number;
}

/** The resolved configuration. */
export interface LocalClusterConfig {
  readonly manifests: readonly string[];
  readonly objects: readonly KubeObject[];
  readonly nodes: readonly { readonly name: string; readonly zone: string }[];
  readonly addresses: { readonly first: number; readonly last: number; readonly text: string };
  readonly images: Readonly<Record<string, ImageFactory>>;
  readonly tls: boolean;
  readonly readyDelayMs: number;
  /** Undefined: scale the pod's own grace period (100 ms per second, at most 2000). */
  readonly terminationGraceMs: number | undefined;
  readonly restartBackoffMs: number;
}

const KEYS = [
  'manifests',
  'objects',
  'nodes',
  'addresses',
  'images',
  'tls',
  'readyDelayMs',
  'terminationGraceMs',
  'restartBackoffMs',
] as const;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** IPv4 text → 32-bit number. */
export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** 32-bit number → IPv4 text. */
export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function stringList(path: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new InvalidArgumentError(path, `${path} must be an array of non-empty strings, got ${describe(value)}`);
  }
  return [...value];
}

/** Validate, default and freeze. Throws InvalidArgumentError (`CLUSTERIP_ERR_INVALID_ARG`) naming the option path. */
export function resolveLocalClusterOptions(input: LocalClusterOptions | undefined): LocalClusterConfig {
  const o = asRecord('options', input ?? {});
  rejectUnknownKeys('', o, KEYS);
  const manifests = stringList('manifests', o.manifests);
  let objects: KubeObject[] = [];
  if (o.objects !== undefined) {
    if (!Array.isArray(o.objects) || o.objects.some((x) => x === null || typeof x !== 'object' || Array.isArray(x))) {
      throw new InvalidArgumentError(
        'objects',
        `objects must be an array of Kubernetes objects, got ${describe(o.objects)}`,
      );
    }
    objects = [...(o.objects as KubeObject[])];
  }
  let nodes = [
    { name: 'node-a', zone: 'zone-a' },
    { name: 'node-b', zone: 'zone-b' },
    { name: 'node-c', zone: 'zone-c' },
  ];
  if (o.nodes !== undefined) {
    if (!Array.isArray(o.nodes) || o.nodes.length === 0) {
      throw new InvalidArgumentError(
        'nodes',
        `nodes must be a non-empty array of { name, zone }, got ${describe(o.nodes)}`,
      );
    }
    nodes = o.nodes.map((n, i) => {
      const node = asRecord(`nodes[${i}]`, n);
      rejectUnknownKeys(`nodes[${i}]`, node, ['name', 'zone']);
      for (const key of ['name', 'zone'] as const) {
        const v = node[key];
        if (typeof v !== 'string' || v.length > 63 || !LABEL.test(v)) {
          throw new InvalidArgumentError(
            `nodes[${i}].${key}`,
            `nodes[${i}].${key} must be a DNS-1123 label, got ${describe(v)}`,
          );
        }
      }
      return { name: node.name as string, zone: node.zone as string };
    });
    const names = new Set(nodes.map((n) => n.name));
    if (names.size !== nodes.length) throw new InvalidArgumentError('nodes', 'nodes must have distinct names');
  }
  let first = '127.0.0.20';
  let last = '127.0.0.250';
  if (o.addresses !== undefined) {
    const a = asRecord('addresses', o.addresses);
    rejectUnknownKeys('addresses', a, ['first', 'last']);
    for (const key of ['first', 'last'] as const) {
      const v = a[key];
      if (typeof v !== 'string' || !isIPv4(v) || !v.startsWith('127.')) {
        throw new InvalidArgumentError(
          `addresses.${key}`,
          `addresses.${key} must be an IPv4 loopback address (127.x.y.z), got ${describe(v)}`,
        );
      }
    }
    first = a.first as string;
    last = a.last as string;
  }
  const firstN = ipv4ToNumber(first);
  const lastN = ipv4ToNumber(last);
  if (lastN < firstN) {
    throw new InvalidArgumentError(
      'addresses',
      `addresses.last must not come before addresses.first, got ${first} … ${last}`,
    );
  }
  const images: Record<string, ImageFactory> = {};
  if (o.images !== undefined) {
    const record = asRecord('images', o.images);
    for (const [name, factory] of Object.entries(record)) {
      if (typeof factory !== 'function') {
        throw new InvalidArgumentError(`images.${name}`, `images.${name} must be a function, got ${describe(factory)}`);
      }
      images[name] = factory as ImageFactory;
    }
  }
  if (o.tls !== undefined && typeof o.tls !== 'boolean') {
    throw new InvalidArgumentError('tls', `tls must be a boolean, got ${describe(o.tls)}`);
  }
  return Object.freeze({
    manifests: Object.freeze(manifests),
    objects: Object.freeze(objects),
    nodes: Object.freeze(nodes.map((n) => Object.freeze(n))),
    addresses: Object.freeze({ first: firstN, last: lastN, text: `${first}-${last}` }),
    images: Object.freeze(images),
    tls: o.tls === true,
    readyDelayMs: integerIn('readyDelayMs', o.readyDelayMs, 0, 60_000, 50),
    terminationGraceMs:
      o.terminationGraceMs === undefined
        ? undefined
        : integerIn('terminationGraceMs', o.terminationGraceMs, 0, 600_000, 0),
    restartBackoffMs: integerIn('restartBackoffMs', o.restartBackoffMs, 0, 60_000, 100),
  });
}
