// Fake Kubernetes API: what the API server does to an object between the request and storage.
// Consumes a written object (and the stored one on update); produces the object to store, or a 400/409/422 Status.

import { randomUUID } from 'node:crypto';
import { ApiStatusError, badRequest, conflict, invalid } from './api-status.js';
import type { ClusterIpAllocator } from './cluster-ip-allocator.js';
import { FieldErrors, isDns1123Label, isDns1123Subdomain, isIPv4, isIPv6 } from './field-errors.js';
import { cloneJson, isPlainObject, jsonEqual, type KubeObject, type StoredObject } from './kube-object.js';
import type { ResourceKind } from './resource-kinds.js';
import { allocateService, defaultService, releaseService, validateService } from './service-admission.js';

/** What admission needs from the server. */
export interface AdmissionContext {
  readonly now: () => number;
  readonly random: () => number;
  readonly allocator: ClusterIpAllocator;
  /**
   * Delete scheduled Pods gracefully, as the real server does: set `deletionTimestamp` (now + grace)
   * and `deletionGracePeriodSeconds`, and leave the removal to the kubelet (which deletes with grace
   * 0). Off by default: without a kubelet, pods would never go away.
   */
  readonly gracefulPodDeletion?: boolean;
}

/**
 * Who is writing: `http` follows the real server's rules (status is ignored on create and update,
 * `deletionTimestamp` cannot be set); `status` is a write to the `/status` subresource;
 * `direct` is the programmatic API, which may set anything (that is how tests make pods ready or
 * terminating).
 */
export type WriteMode = 'http' | 'status' | 'direct';

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** `names.SimpleNameGenerator`: the prefix plus 5 random characters. */
export function generateName(prefix: string, random: () => number): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_CHARS[Math.floor(random() * NAME_CHARS.length) % NAME_CHARS.length];
  return `${prefix.slice(0, 58)}${suffix}`;
}

/** RFC 3339 with second precision, as `metav1.Time` serialises. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function checkStringMap(errors: FieldErrors, field: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    errors.invalid(field, value, 'must be a map of strings');
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') errors.invalid(`${field}[${k}]`, v, 'must be a string');
  }
}

function validateName(kind: ResourceKind, name: string, errors: FieldErrors): void {
  if (kind.kind === 'Service') return; // DNS-1035, checked by validateService
  const ok = kind.kind === 'Namespace' ? isDns1123Label(name) : isDns1123Subdomain(name);
  if (!ok) {
    errors.invalid(
      'metadata.name',
      name,
      kind.kind === 'Namespace'
        ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
}

function defaultPod(object: KubeObject): void {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  object.spec = spec;
  defaultPodSpec(spec);
}

/** `SetDefaults_PodSpec` and the container defaults (also applied to Deployment pod templates). */
function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const container of list) {
      if (!isPlainObject(container)) continue;
      if (container.imagePullPolicy === undefined && typeof container.image === 'string') {
        const tag = /:([^/:]+)$/.exec(container.image)?.[1];
        container.imagePullPolicy = tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
      }
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      container.resources ??= {};
      if (Array.isArray(container.ports)) {
        for (const port of container.ports) if (isPlainObject(port)) port.protocol ??= 'TCP';
      }
    }
  }
}

function validatePod(object: KubeObject, errors: FieldErrors): void {
  validatePodSpec(isPlainObject(object.spec) ? object.spec : {}, 'spec', errors);
  const status = isPlainObject(object.status) ? object.status : {};
  if (typeof status.podIP === 'string' && status.podIP !== '' && !isIPv4(status.podIP) && !isIPv6(status.podIP)) {
    errors.invalid('status.podIP', status.podIP, 'must be a valid IP address');
  }
}

function validatePodSpec(spec: Record<string, unknown>, path: string, errors: FieldErrors): void {
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.required(`${path}.containers`);
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    if (!isPlainObject(c)) {
      errors.invalid(`${path}.containers[${i}]`, c, 'must be an object');
      return;
    }
    const field = `${path}.containers[${i}]`;
    if (typeof c.name !== 'string' || c.name === '') errors.required(`${field}.name`);
    else if (!isDns1123Label(c.name)) errors.invalid(`${field}.name`, c.name, 'must be a DNS-1123 label');
    else if (names.has(c.name)) errors.duplicate(`${field}.name`, c.name);
    else names.add(c.name);
    if (typeof c.image !== 'string' || c.image === '') errors.required(`${field}.image`);
    if (c.ports !== undefined && c.ports !== null) {
      if (!Array.isArray(c.ports)) errors.invalid(`${field}.ports`, c.ports, 'must be a list');
      else {
        c.ports.forEach((p, j) => {
          const port = isPlainObject(p) ? p.containerPort : undefined;
          if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
            errors.invalid(`${field}.ports[${j}].containerPort`, port, 'must be between 1 and 65535, inclusive');
          }
        });
      }
    }
  });
}

/** `SetDefaults_Deployment` (apps/v1): replicas, RollingUpdate 25%/25%, history and deadline, pod template defaults. */
function defaultDeployment(object: KubeObject): void {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  object.spec = spec;
  spec.replicas ??= 1;
  const strategy = isPlainObject(spec.strategy) ? spec.strategy : {};
  spec.strategy = strategy;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rolling = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    strategy.rollingUpdate = rolling;
    rolling.maxUnavailable ??= '25%';
    rolling.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  const template = isPlainObject(spec.template) ? spec.template : {};
  spec.template = template;
  const templateSpec = isPlainObject(template.spec) ? template.spec : {};
  template.spec = templateSpec;
  defaultPodSpec(templateSpec);
}

function intOrPercent(value: unknown): boolean {
  return (
    (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^\d+%$/.test(value))
  );
}

/** apps/v1 `ValidateDeployment`: the checks a local cluster's users trip over. */
function validateDeployment(object: KubeObject, errors: FieldErrors): void {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const replicas = spec.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    errors.invalid('spec.replicas', replicas, 'must be greater than or equal to 0');
  }
  const selector = isPlainObject(spec.selector) ? spec.selector : undefined;
  const matchLabels = isPlainObject(selector?.matchLabels) ? (selector.matchLabels as Record<string, unknown>) : {};
  const expressions = Array.isArray(selector?.matchExpressions) ? selector.matchExpressions : [];
  if (selector === undefined) errors.required('spec.selector');
  else if (Object.keys(matchLabels).length === 0 && expressions.length === 0) {
    errors.invalid('spec.selector', selector, 'empty selector is invalid for deployment');
  }
  const template = isPlainObject(spec.template) ? spec.template : {};
  const templateMeta = isPlainObject(template.metadata) ? template.metadata : {};
  const labels = isPlainObject(templateMeta.labels) ? templateMeta.labels : {};
  checkStringMap(errors, 'spec.template.metadata.labels', templateMeta.labels);
  if (selector !== undefined && Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
    errors.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`');
  }
  validatePodSpec(isPlainObject(template.spec) ? template.spec : {}, 'spec.template.spec', errors);
  const strategy = isPlainObject(spec.strategy) ? spec.strategy : {};
  if (strategy.type !== 'RollingUpdate' && strategy.type !== 'Recreate') {
    errors.notSupported('spec.strategy.type', strategy.type, ['Recreate', 'RollingUpdate']);
  } else if (strategy.type === 'RollingUpdate') {
    const rolling = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    for (const key of ['maxSurge', 'maxUnavailable']) {
      if (!intOrPercent(rolling[key])) {
        errors.invalid(
          `spec.strategy.rollingUpdate.${key}`,
          rolling[key],
          'must be a non-negative integer or a percentage',
        );
      }
    }
    if (rolling.maxSurge === 0 || rolling.maxSurge === '0%') {
      if (rolling.maxUnavailable === 0 || rolling.maxUnavailable === '0%') {
        errors.invalid(
          'spec.strategy.rollingUpdate.maxUnavailable',
          rolling.maxUnavailable,
          'may not be 0 when `maxSurge` is 0',
        );
      }
    }
  }
}

function defaultEndpointSlice(object: KubeObject): void {
  if (Array.isArray(object.ports)) {
    for (const port of object.ports) if (isPlainObject(port)) port.protocol ??= 'TCP';
  }
  if (object.endpoints === undefined || object.endpoints === null) object.endpoints = [];
}

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];

function validateEndpointSlice(object: KubeObject, errors: FieldErrors): void {
  const type = object.addressType;
  if (type === undefined || type === '') errors.required('addressType');
  else if (!ADDRESS_TYPES.includes(String(type))) errors.notSupported('addressType', type, ADDRESS_TYPES);
  const endpoints = object.endpoints;
  if (!Array.isArray(endpoints)) {
    errors.invalid('endpoints', endpoints, 'must be a list');
  } else {
    if (endpoints.length > 1000) errors.invalid('endpoints', endpoints.length, 'must have at most 1000 items');
    endpoints.forEach((ep, i) => {
      const field = `endpoints[${i}].addresses`;
      const addresses = isPlainObject(ep) ? ep.addresses : undefined;
      if (!Array.isArray(addresses) || addresses.length === 0) {
        errors.required(field);
        return;
      }
      if (addresses.length > 100) errors.invalid(field, addresses.length, 'must have at most 100 items');
      addresses.forEach((address, j) => {
        const ok =
          typeof address === 'string' &&
          (type === 'IPv4' ? isIPv4(address) : type === 'IPv6' ? isIPv6(address) : isDns1123Subdomain(address));
        if (!ok) errors.invalid(`${field}[${j}]`, address, `must be a valid ${String(type)} address`);
      });
    });
  }
  const ports = object.ports;
  if (ports !== undefined && ports !== null) {
    if (!Array.isArray(ports)) errors.invalid('ports', ports, 'must be a list');
    else {
      const names = new Set<string>();
      ports.forEach((p, i) => {
        if (!isPlainObject(p)) {
          errors.invalid(`ports[${i}]`, p, 'must be an object');
          return;
        }
        const name = typeof p.name === 'string' ? p.name : '';
        if (names.has(name)) errors.duplicate(`ports[${i}].name`, name);
        names.add(name);
        if (p.port !== undefined && p.port !== null && (typeof p.port !== 'number' || p.port < 0 || p.port > 65535)) {
          errors.invalid(`ports[${i}].port`, p.port, 'must be between 0 and 65535, inclusive');
        }
      });
    }
  }
}

/** The status a freshly created object gets when the write does not carry one. */
function initialStatus(kind: ResourceKind): Record<string, unknown> | undefined {
  switch (kind.kind) {
    case 'Service':
      return { loadBalancer: {} };
    case 'Pod':
      return { phase: 'Pending', qosClass: 'BestEffort' };
    case 'Namespace':
      return { phase: 'Active' };
    default:
      return undefined;
  }
}

function specPart(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

const GENERATION_KINDS = new Set(['Service', 'EndpointSlice', 'Deployment']);

/**
 * Admit a create: check apiVersion/kind and namespace, set name (generateName), uid,
 * creationTimestamp, generation, apply the kind's defaults and validation, allocate ClusterIPs.
 * Returns the object to store (without resourceVersion: the store stamps it).
 */
export function admitCreate(
  kind: ResourceKind,
  input: KubeObject,
  namespace: string | undefined,
  mode: WriteMode,
  ctx: AdmissionContext,
): StoredObject {
  const object = prepare(kind, input, namespace);
  const meta = object.metadata;
  if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName) {
    meta.name = generateName(meta.generateName, ctx.random);
  }
  const name = typeof meta.name === 'string' ? meta.name : '';
  const errors = new FieldErrors();
  if (name === '') errors.required('metadata.name');
  else validateName(kind, name, errors);
  meta.uid = randomUUID();
  meta.creationTimestamp = formatTime(ctx.now());
  delete meta.resourceVersion;
  delete meta.managedFields;
  if (mode !== 'direct') {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  if (GENERATION_KINDS.has(kind.kind)) meta.generation = 1;
  else delete meta.generation;
  if (kind.hasStatus && (mode !== 'direct' || object.status === undefined) && kind.kind !== 'Node') {
    const status = initialStatus(kind);
    if (status === undefined) delete object.status;
    else object.status = status;
  }
  defaultKind(kind, object);
  validateKind(kind, object, errors);
  if (kind.kind === 'Service' && errors.causes.length === 0) {
    allocateService(object, undefined, ctx.allocator, errors);
    if (errors.causes.length > 0) releaseService(object, ctx.allocator);
  }
  if (errors.causes.length > 0) throw invalid(kind, name, errors.causes);
  return object as StoredObject;
}

/**
 * Admit an update of `current`: enforce the resourceVersion precondition (409), keep identity
 * fields, keep status (mode `http`) or everything but status (mode `status`), bump generation when
 * the spec changed.
 */
export function admitUpdate(
  kind: ResourceKind,
  input: KubeObject,
  current: StoredObject,
  mode: WriteMode,
  ctx: AdmissionContext,
): StoredObject {
  const object = prepare(kind, input, current.metadata.namespace);
  const meta = object.metadata;
  const name = current.metadata.name;
  if (meta.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
  }
  const rv = meta.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(kind, name);
  if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== current.metadata.uid) {
    throw conflict(
      kind,
      name,
      `Precondition failed: UID in precondition: ${String(meta.uid)}, UID in object meta: ${current.metadata.uid}`,
    );
  }
  let next: KubeObject;
  if (mode === 'status') {
    next = cloneJson(current) as KubeObject;
    if (object.status === undefined) delete next.status;
    else next.status = object.status;
  } else {
    next = object;
    if (mode === 'http' && kind.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = cloneJson(current.status);
    }
  }
  const m = next.metadata ?? {};
  next.metadata = m;
  m.name = name;
  if (kind.namespaced) m.namespace = current.metadata.namespace;
  m.uid = current.metadata.uid;
  m.creationTimestamp = current.metadata.creationTimestamp;
  delete m.resourceVersion;
  delete m.managedFields;
  if (mode !== 'direct' || m.deletionTimestamp === undefined) {
    if (current.metadata.deletionTimestamp === undefined) delete m.deletionTimestamp;
    else m.deletionTimestamp = current.metadata.deletionTimestamp;
  }
  if (GENERATION_KINDS.has(kind.kind)) {
    const generation = current.metadata.generation ?? 1;
    m.generation = jsonEqual(specPart(next), specPart(current)) ? generation : generation + 1;
  } else {
    delete m.generation;
  }
  const errors = new FieldErrors();
  defaultKind(kind, next);
  validateKind(kind, next, errors);
  if (kind.kind === 'Service' && errors.causes.length === 0) allocateService(next, current, ctx.allocator, errors);
  if (errors.causes.length > 0) throw invalid(kind, name, errors.causes);
  return next as StoredObject;
}

/** Release what a deleted object held (Service ClusterIPs and node ports). */
export function admitDelete(kind: ResourceKind, object: StoredObject, ctx: AdmissionContext): void {
  if (kind.kind === 'Service') releaseService(object, ctx.allocator);
}

function prepare(
  kind: ResourceKind,
  input: KubeObject,
  namespace: string | undefined,
): KubeObject & { metadata: Record<string, unknown> } {
  if (!isPlainObject(input)) throw badRequest('the body of the request must be a JSON object');
  const object = cloneJson(input);
  if (object.apiVersion !== undefined && object.apiVersion !== kind.apiVersion) {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${kind.apiVersion})`,
    );
  }
  if (object.kind !== undefined && object.kind !== kind.kind) {
    throw badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (${kind.kind})`);
  }
  object.apiVersion = kind.apiVersion;
  object.kind = kind.kind;
  const meta = isPlainObject(object.metadata) ? object.metadata : {};
  object.metadata = meta;
  if (kind.namespaced) {
    if (
      meta.namespace !== undefined &&
      meta.namespace !== '' &&
      namespace !== undefined &&
      meta.namespace !== namespace
    ) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace ?? meta.namespace ?? 'default';
  } else {
    delete meta.namespace;
  }
  return object as KubeObject & { metadata: Record<string, unknown> };
}

function defaultKind(kind: ResourceKind, object: KubeObject): void {
  switch (kind.kind) {
    case 'Service':
      defaultService(object);
      break;
    case 'Pod':
      defaultPod(object);
      break;
    case 'EndpointSlice':
      defaultEndpointSlice(object);
      break;
    case 'Deployment':
      defaultDeployment(object);
      break;
    case 'Namespace': {
      const meta = object.metadata ?? {};
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': meta.name ?? '' };
      object.metadata = meta;
      const spec = isPlainObject(object.spec) ? object.spec : {};
      spec.finalizers ??= ['kubernetes'];
      object.spec = spec;
      break;
    }
    default:
      break;
  }
}

function validateKind(kind: ResourceKind, object: KubeObject, errors: FieldErrors): void {
  checkStringMap(errors, 'metadata.labels', object.metadata?.labels);
  checkStringMap(errors, 'metadata.annotations', object.metadata?.annotations);
  switch (kind.kind) {
    case 'Service':
      errors.causes.push(...validateService(object).causes);
      break;
    case 'Pod':
      validatePod(object, errors);
      break;
    case 'EndpointSlice':
      validateEndpointSlice(object, errors);
      break;
    case 'Deployment':
      validateDeployment(object, errors);
      break;
    default:
      break;
  }
}

/** Wrap anything thrown by admission that is not already an API Status as a 500. */
export function asApiError(error: unknown): ApiStatusError {
  if (error instanceof ApiStatusError) return error;
  return new ApiStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `internal error: ${error instanceof Error ? error.message : String(error)}`,
    reason: 'InternalError',
    code: 500,
  });
}
