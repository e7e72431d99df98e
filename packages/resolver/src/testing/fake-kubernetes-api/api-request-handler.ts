// Fake Kubernetes API: the HTTP front: auth, faults, body decoding, routing, content negotiation, Status errors.
// Consumes node:http requests; produces API responses and hands watch requests to WatchStreams.

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ApiStatus,
  ApiStatusError,
  badRequest,
  failure,
  reasonForCode,
  tooOldResourceVersion,
} from './api-status.js';
import {
  AGGREGATED_DISCOVERY_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3Document,
  openApiV3Root,
  versionInfo,
} from './discovery.js';
import type { ResolvedFakeKubernetesApiOptions } from './fake-kubernetes-api-options.js';
import type { FaultInjector } from './fault-injector.js';
import { parseFieldSelector } from './field-selector.js';
import { isPlainObject, type StoredObject } from './kube-object.js';
import { parseLabelSelector } from './label-selector.js';
import { asApiError, type WriteMode } from './object-admission.js';
import type { ObjectStore, StoreEvent } from './object-store.js';
import { type IncludeObject, toTable } from './object-table.js';
import { queryFlag, type RequestRecord, recordRequest } from './request-record.js';
import { kindByResource, RESOURCE_KINDS, type ResourceKind } from './resource-kinds.js';
import type { ResourceOperations } from './resource-operations.js';
import { type WatchParams, WatchStream } from './watch-stream.js';

/** What the handler needs from the server that owns it. */
export interface HandlerHost {
  readonly options: ResolvedFakeKubernetesApiOptions;
  readonly store: ObjectStore;
  readonly operations: ResourceOperations;
  readonly faults: FaultInjector;
  /** The bearer token currently required (rotatable), or undefined for no auth. */
  token(): string | undefined;
  serverAddress(): string;
  record(record: RequestRecord): void;
  /** A response head went out or a response ended: a logged record's `status` changed. */
  responded(): void;
  /** Register a started watch (the server ends it right away when it is closing). */
  addWatch(stream: WatchStream): void;
  removeWatch(stream: WatchStream): void;
  /** Track a pending timer so close() can clear it. */
  trackTimer(timer: NodeJS.Timeout): void;
  untrackTimer(timer: NodeJS.Timeout): void;
}

interface ResourceRoute {
  readonly kind: ResourceKind;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
  extra: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': contentType,
    'cache-control': 'no-cache, private',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, status: ApiStatus, extra: Record<string, string> = {}): void {
  send(res, status.code, status, 'application/json', extra);
}

function notFoundPath(): ApiStatusError {
  return new ApiStatusError(failure(404, 'the server could not find the requested resource', 'NotFound', {}));
}

function methodNotAllowed(method: string): ApiStatusError {
  return new ApiStatusError(
    failure(405, `the server does not allow this method on the requested resource (${method})`, 'MethodNotAllowed', {}),
  );
}

/** Split `/api/v1/...` or `/apis/<group>/v1/...` into the group and the remaining segments. */
function splitApiPath(path: string): { group: string; segments: string[]; groupOnly?: boolean } | undefined {
  const parts = path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  if (parts[0] === 'api' && parts[1] === 'v1') return { group: '', segments: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 2) {
    const group = parts[1] ?? '';
    if (parts.length === 2) return { group, segments: [], groupOnly: true };
    if (parts[2] !== 'v1') return undefined;
    return { group, segments: parts.slice(3) };
  }
  return undefined;
}

function resolveRoute(group: string, input: string[]): ResourceRoute | undefined {
  const segments = input[0] === 'watch' ? input.slice(1) : input;
  const [a, b, c, d, e] = segments;
  if (a === undefined) return undefined;
  if (a === 'namespaces' && b !== undefined && c !== undefined && c !== 'status' && c !== 'finalize') {
    const kind = kindByResource(group, c);
    if (kind === undefined || !kind.namespaced || segments.length > 5) return undefined;
    return {
      kind,
      namespace: b,
      ...(d === undefined ? {} : { name: d }),
      ...(e === undefined ? {} : { subresource: e }),
    };
  }
  const kind = kindByResource(group, a);
  if (kind === undefined || segments.length > 3) return undefined;
  if (kind.namespaced && b !== undefined) return undefined;
  return { kind, ...(b === undefined ? {} : { name: b }), ...(c === undefined ? {} : { subresource: c }) };
}

function listKind(
  kind: ResourceKind,
  items: readonly StoredObject[],
  meta: Record<string, unknown>,
): Record<string, unknown> {
  // Items of typed lists carry no kind/apiVersion on the wire, as the real server encodes them.
  return {
    kind: `${kind.kind}List`,
    apiVersion: kind.apiVersion,
    metadata: meta,
    items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
  };
}

function wantsTable(req: IncomingMessage): boolean {
  return /;\s*as=Table/.test(req.headers.accept ?? '');
}

function includeObject(query: Readonly<Record<string, string>>): IncludeObject {
  const value = query.includeObject;
  if (value === undefined || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw badRequest(`invalid includeObject ${JSON.stringify(value)}: must be None, Metadata or Object`);
}

function parseNonNegative(query: Readonly<Record<string, string>>, key: string): number | undefined {
  const value = query[key];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid ${key} ${JSON.stringify(value)}: must be a non-negative integer`);
  return Number(value);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new ApiStatusError(failure(413, `Request entity too large: limit is ${limit}`, 'RequestEntityTooLarge'));
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(
      `the body of the request was in an unknown format: invalid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Handles every request of one fake server. */
export class ApiRequestHandler {
  readonly #host: HandlerHost;

  constructor(host: HandlerHost) {
    this.#host = host;
  }

  /** Entry point from `http.createServer`. Never throws; every failure becomes a Status response. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const record = recordRequest(req, this.#host.options.now(), res);
    this.#host.record(record);
    // Lets `waitForRequest((r) => r.status === 401)` see the status once it is known.
    res.once('finish', () => this.#host.responded());
    const fault = this.#host.faults.take(record);
    if (fault === undefined) {
      this.#proceed(req, res, record);
      return;
    }
    switch (fault.type) {
      case 'fail': {
        const o = fault.options;
        const status = failure(o.status, o.message ?? `injected failure (HTTP ${o.status})`, reasonForCode(o.status), {
          ...(o.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: o.retryAfterSeconds }),
        });
        // Drain the body so the connection stays usable.
        req.resume();
        sendStatus(
          res,
          status,
          o.retryAfterSeconds === undefined ? {} : { 'retry-after': String(o.retryAfterSeconds) },
        );
        return;
      }
      case 'disconnect':
        req.socket.destroy();
        return;
      case 'respond':
        req.resume();
        res.writeHead(fault.status, {
          'content-type': fault.contentType,
          'content-length': Buffer.byteLength(fault.body),
        });
        res.end(fault.body);
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          this.#host.untrackTimer(timer);
          this.#proceed(req, res, record);
        }, fault.delayMs);
        timer.unref();
        this.#host.trackTimer(timer);
        return;
      }
      case 'stall':
        fault.hold(() => this.#proceed(req, res, record));
        return;
    }
  }

  #proceed(req: IncomingMessage, res: ServerResponse, record: RequestRecord): void {
    if (res.destroyed || req.socket.destroyed) return;
    this.#route(req, res, record).catch((error: unknown) => {
      const apiError = asApiError(error);
      sendStatus(res, apiError.status);
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse, record: RequestRecord): Promise<void> {
    const token = this.#host.token();
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      req.resume();
      sendStatus(res, failure(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const path = record.path;
    const method = record.method;
    const accept = req.headers.accept ?? '';
    if (method === 'GET') {
      const discovery = this.#discovery(path, accept);
      if (discovery !== undefined) {
        send(res, 200, discovery.body, discovery.contentType);
        return;
      }
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
    }
    const api = splitApiPath(path);
    const route = api && !api.groupOnly && api.segments.length > 0 ? resolveRoute(api.group, api.segments) : undefined;
    if (route === undefined) {
      req.resume();
      throw notFoundPath();
    }
    const bodyText = method === 'GET' || method === 'HEAD' ? '' : await readBody(req, this.#host.options.maxBodyBytes);
    await this.#resource(req, res, record, route, bodyText);
  }

  #discovery(path: string, accept: string): { body: unknown; contentType?: string } | undefined {
    const aggregated = accept.includes('g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    switch (path) {
      case '/version':
        return { body: versionInfo(this.#host.options.kubernetesVersion) };
      case '/api':
        return aggregated
          ? { body: aggregatedDiscovery(true), contentType: AGGREGATED_DISCOVERY_TYPE }
          : { body: apiVersions(this.#host.serverAddress()) };
      case '/apis':
        return aggregated
          ? { body: aggregatedDiscovery(false), contentType: AGGREGATED_DISCOVERY_TYPE }
          : { body: apiGroupList() };
      case '/api/v1':
        return { body: apiResourceList('') };
      case '/openapi/v3':
        return { body: openApiV3Root() };
      default:
        break;
    }
    const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
    if (group !== undefined && RESOURCE_KINDS.some((k) => k.group === group)) return { body: apiGroup(group) };
    const groupVersion = /^\/apis\/([^/]+)\/v1$/.exec(path)?.[1];
    if (groupVersion !== undefined) {
      const list = apiResourceList(groupVersion);
      if (list !== undefined && groupVersion !== '') return { body: list };
    }
    const openapi = /^\/openapi\/v3\/(?:api\/v1|apis\/([^/]+)\/v1)$/.exec(path);
    if (openapi) {
      const doc = openApiV3Document(openapi[1] ?? '');
      if (doc !== undefined) return { body: doc };
    }
    return undefined;
  }

  async #resource(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    route: ResourceRoute,
    bodyText: string,
  ): Promise<void> {
    const { kind, namespace, name, subresource } = route;
    const query = record.query;
    const ops = this.#host.operations;
    const dryRun = query.dryRun === 'All';
    const method = record.method;
    if (subresource === 'scale' && kind.hasScale && name !== undefined) {
      switch (method) {
        case 'GET':
          send(res, 200, ops.getScale(kind, namespace, name));
          return;
        case 'PUT':
          send(res, 200, ops.writeScale(kind, namespace, name, parseJson(bodyText), undefined, dryRun));
          return;
        case 'PATCH': {
          const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
          send(res, 200, ops.writeScale(kind, namespace, name, parseJson(bodyText), contentType, dryRun));
          return;
        }
        default:
          throw methodNotAllowed(method);
      }
    }
    if (subresource !== undefined && (subresource !== 'status' || !kind.hasStatus)) throw notFoundPath();
    const mode: WriteMode = subresource === 'status' ? 'status' : 'http';
    const table = wantsTable(req);
    const now = this.#host.options.now();

    if (name === undefined) {
      switch (method) {
        case 'GET': {
          const labelSelector = parseLabelSelector(query.labelSelector);
          const fieldSelector = parseFieldSelector(query.fieldSelector, kind);
          if (record.watch) {
            this.#watch(res, record, {
              kind,
              ...(namespace === undefined ? {} : { namespace }),
              labelSelector,
              fieldSelector,
              allowBookmarks: queryFlag(query.allowWatchBookmarks),
              ...(table ? { table: { include: includeObject(query) } } : {}),
              timeoutMs: (parseNonNegative(query, 'timeoutSeconds') || this.#host.options.watchTimeoutSeconds) * 1000,
              bookmarkIntervalMs: this.#host.options.bookmarkIntervalMs,
              maxBufferBytes: this.#host.options.maxWatchBufferBytes,
            });
            return;
          }
          const limit = parseNonNegative(query, 'limit');
          const result = ops.list(kind, {
            ...(namespace === undefined ? {} : { namespace }),
            labelSelector,
            fieldSelector,
            ...(limit === undefined ? {} : { limit }),
            ...(query.continue === undefined ? {} : { continueToken: query.continue }),
          });
          const meta = {
            resourceVersion: String(result.revision),
            ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
            ...(result.remainingItemCount === undefined ? {} : { remainingItemCount: result.remainingItemCount }),
          };
          if (table) {
            send(
              res,
              200,
              toTable(kind, result.items, {
                now,
                include: includeObject(query),
                resourceVersion: meta.resourceVersion,
                ...(result.continueToken === undefined ? {} : { continueToken: result.continueToken }),
              }),
            );
          } else {
            send(res, 200, listKind(kind, result.items, meta));
          }
          return;
        }
        case 'POST': {
          const object = ops.create(kind, namespace, parseJson(bodyText), mode, dryRun);
          send(res, 201, object);
          return;
        }
        case 'DELETE': {
          const items = ops.deleteCollection(
            kind,
            {
              ...(namespace === undefined ? {} : { namespace }),
              labelSelector: parseLabelSelector(query.labelSelector),
              fieldSelector: parseFieldSelector(query.fieldSelector, kind),
            },
            dryRun,
          );
          send(res, 200, listKind(kind, items, { resourceVersion: String(this.#host.store.revision) }));
          return;
        }
        default:
          throw methodNotAllowed(method);
      }
    }

    switch (method) {
      case 'GET': {
        const object = ops.get(kind, namespace, name);
        if (table) {
          send(
            res,
            200,
            toTable(kind, [object], {
              now,
              include: includeObject(query),
              resourceVersion: object.metadata.resourceVersion,
            }),
          );
        } else {
          send(res, 200, object);
        }
        return;
      }
      case 'PUT':
        send(res, 200, ops.update(kind, namespace, name, parseJson(bodyText), mode, dryRun));
        return;
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
        const result = ops.patch(kind, namespace, name, contentType, parseJson(bodyText), mode, dryRun);
        send(res, result.created ? 201 : 200, result.object);
        return;
      }
      case 'DELETE': {
        if (subresource !== undefined) throw methodNotAllowed(method);
        const options = bodyText.trim() === '' ? {} : parseJson(bodyText);
        const pre = isPlainObject(options) && isPlainObject(options.preconditions) ? options.preconditions : {};
        const grace =
          isPlainObject(options) && typeof options.gracePeriodSeconds === 'number'
            ? options.gracePeriodSeconds
            : parseNonNegative(query, 'gracePeriodSeconds');
        const bodyDryRun = isPlainObject(options) && Array.isArray(options.dryRun) && options.dryRun.includes('All');
        const deleted = ops.delete(
          kind,
          namespace,
          name,
          {
            ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
            ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
            ...(grace === undefined ? {} : { gracePeriodSeconds: grace }),
          },
          dryRun || bodyDryRun,
        );
        send(res, 200, deleted);
        return;
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  #watch(res: ServerResponse, record: RequestRecord, params: WatchParams): void {
    const query = record.query;
    const store = this.#host.store;
    const rvText = query.resourceVersion ?? '';
    const sendInitial = query.sendInitialEvents;
    let initial: StoreEvent[];
    let initialEventsEnd = false;
    if (rvText === '' || rvText === '0' || sendInitial === 'true') {
      // "Start at most recent" / "any": the current state as synthetic ADDED events.
      if (sendInitial === 'false') initial = [];
      else {
        const revision = store.revision;
        initial = this.#host.operations
          .list(params.kind, params.namespace === undefined ? {} : { namespace: params.namespace })
          .items.map((object) => ({ revision, type: 'ADDED' as const, kind: params.kind, object }));
        initialEventsEnd = sendInitial === 'true';
      }
    } else {
      if (!/^\d+$/.test(rvText)) throw badRequest(`invalid resource version ${JSON.stringify(rvText)}`);
      const changes = store.changesSince(Number(rvText));
      if (changes === undefined) {
        const status = tooOldResourceVersion(rvText, store.compactedRevision + 1);
        if (this.#host.options.expiredWatchResponse === 'status') throw new ApiStatusError(status);
        const stream = this.#stream(res, record, params);
        stream.start([], false);
        this.#host.responded();
        stream.error(status);
        return;
      }
      initial = changes;
    }
    this.#stream(res, record, params).start(initial, initialEventsEnd);
    // The stream's 200 head is out: its record's status is known while the watch stays open.
    this.#host.responded();
  }

  #stream(res: ServerResponse, record: RequestRecord, params: WatchParams): WatchStream {
    const stream = new WatchStream(res, params, record, {
      now: this.#host.options.now,
      revision: () => this.#host.store.revision,
      onEnd: (s) => this.#host.removeWatch(s),
    });
    this.#host.addWatch(stream);
    return stream;
  }
}
