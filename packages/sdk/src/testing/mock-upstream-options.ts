// Testing: options of createMockUpstream, validated once (before any pod starts) and frozen.
// Consumes user options; produces a fully-defaulted frozen config.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  InvalidArgumentError,
  type StaticService,
  type StaticSource,
  validateNamespace,
  validateServiceName,
  validateServicePortName,
} from '@clusterip/resolver';
import { asRecord, describe, functionOr, integerIn, rejectUnknownKeys, stringOr } from '../internal/options.js';
import type { MockPod } from './mock-pod.js';

/**
 * Answers one request to a mock pod. What it returns is ignored, except a promise: a handler that
 * throws (or whose promise rejects) before answering gets a 500 with its message, one that fails after
 * the headers went out resets the connection.
 *
 * @example
 * ```ts
 * const handler: MockHandler = (req, res, pod) => res.end(`${pod.name} saw ${req.url}`)
 * ```
 */
export type MockHandler = (req: IncomingMessage, res: ServerResponse, pod: MockPod) => unknown;

/**
 * Options of {@link createMockUpstream}. Only `name` is required; unknown keys are rejected.
 *
 * @example
 * ```ts
 * const orders = await createMockUpstream({ name: 'orders', namespace: 'shop', replicas: 2 })
 * ```
 */
export interface MockUpstreamOptions {
  /** The Service's name (a DNS-1035 label). */
  readonly name: string;
  /** Its namespace. Default `default`. */
  readonly namespace?: string;
  /** Pods started at once, each ready. Default 3 (0-100). */
  readonly replicas?: number;
  /** The Service port callers put in URLs. Default 80. Each pod listens on a port of its own. */
  readonly port?: number;
  /** Name of that Service port (and of each pod's container port). Default `http`. */
  readonly portName?: string;
  /**
   * Address every pod listens on. Default `127.0.0.1`, which every OS has; pods differ by port, which is
   * how endpoints are told apart (`address:port`).
   */
  readonly host?: string;
  /** Answers requests; default: 200 with JSON `{ pod, method, path, host, body }`. */
  readonly handler?: MockHandler;
  /**
   * Any other field of the Service: `sessionAffinity`, `internalTrafficPolicy`, `trafficDistribution`,
   * `annotations` … (the `ServiceInfo` shape).
   */
  readonly spec?: StaticService['spec'];
  /**
   * Publish the Service into this source, to put several mock Services behind one Mesh. It is the
   * caller's: `close()` removes the Service from it and leaves it open. Default: a source of its own.
   */
  readonly source?: StaticSource;
  /** How long `terminate()` keeps a pod serving after listing it as terminating (a preStop sleep). Default 0. */
  readonly drainDelayMs?: number;
  /**
   * How long `terminate()` waits for requests in flight before cutting their connections (the pod's
   * grace period). Default 30000.
   */
  readonly terminationGraceMs?: number;
}

/** The resolved configuration. */
export interface MockUpstreamConfig {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly port: number;
  readonly portName: string;
  readonly host: string;
  readonly handler: MockHandler | undefined;
  readonly spec: StaticService['spec'];
  readonly source: StaticSource | undefined;
  readonly drainDelayMs: number;
  readonly terminationGraceMs: number;
}

const KEYS = [
  'name',
  'namespace',
  'replicas',
  'port',
  'portName',
  'host',
  'handler',
  'spec',
  'source',
  'drainDelayMs',
  'terminationGraceMs',
] as const;

/** Validate, default and freeze. Throws InvalidArgumentError (`CLUSTERIP_ERR_INVALID_ARG`) naming the option. */
export function resolveMockUpstreamOptions(input: MockUpstreamOptions): MockUpstreamConfig {
  const o = asRecord('options', input);
  rejectUnknownKeys('', o, KEYS);
  if (typeof o.name !== 'string') {
    throw new InvalidArgumentError('name', `name must be the Service's name, got ${describe(o.name)}`);
  }
  validateServiceName(o.name);
  const namespace = stringOr('namespace', o.namespace, 'default');
  validateNamespace(namespace);
  const portName = stringOr('portName', o.portName, 'http');
  validateServicePortName(portName);
  const host = stringOr('host', o.host, '127.0.0.1');
  if (isIP(host) === 0) {
    throw new InvalidArgumentError(
      'host',
      `host must be an IP address the pods can listen on (e.g. 127.0.0.1 or ::1), got ${describe(host)}`,
    );
  }
  if (o.spec !== undefined) asRecord('spec', o.spec);
  let source: StaticSource | undefined;
  if (o.source !== undefined) {
    const s = o.source as Partial<StaticSource> | null;
    if (s === null || typeof s !== 'object' || typeof s.set !== 'function' || typeof s.delete !== 'function') {
      throw new InvalidArgumentError(
        'source',
        `source must be a StaticSource (new StaticSource() from @clusterip/sdk/testing), got ${describe(o.source)}`,
      );
    }
    source = o.source as StaticSource;
  }
  return Object.freeze({
    name: o.name,
    namespace,
    replicas: integerIn('replicas', o.replicas, 0, 100, 3),
    port: integerIn('port', o.port, 1, 65_535, 80),
    portName,
    host,
    handler: functionOr<MockHandler | undefined>('handler', o.handler, undefined),
    spec: o.spec as StaticService['spec'],
    source,
    drainDelayMs: integerIn('drainDelayMs', o.drainDelayMs, 0, 3_600_000, 0),
    terminationGraceMs: integerIn('terminationGraceMs', o.terminationGraceMs, 0, 3_600_000, 30_000),
  });
}
