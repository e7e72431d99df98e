// Reliability (fuzzing): a tiny Kubernetes-API-shaped HTTP server on loopback that answers EndpointSlice
// watches with scripted (fuzzed) byte chunks. Consumes scripts; produces real HTTP/1.1 streams, chunk by chunk.

import { EventEmitter } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ExecutionContext } from 'ava';

/** One scripted watch response: the chunks to write (each written on its own turn), then the end. */
export interface WatchScript {
  readonly chunks: readonly Buffer[];
  /** Drop the list scripts not served yet when this watch is served (the next relist is `sliceList`). */
  readonly clearLists?: boolean;
}

/** What the server saw, and what it answers. */
export interface ScriptedWatchServer {
  readonly url: string;
  /** Scripts for the next EndpointSlice watches, consumed in order; when empty, a watch is held open. */
  readonly scripts: WatchScript[];
  /** Bodies for the next EndpointSlice lists, consumed in order, written as they are; then `sliceList`. */
  readonly listScripts: Buffer[];
  /** The EndpointSlice list body (a relist returns it). */
  sliceList: unknown;
  /** The Service list body. */
  serviceList: unknown;
  /** Counts of requests by kind. */
  readonly served: { sliceLists: number; sliceWatches: number; held: number };
  /** Emits `held` when a watch is held open (its script queue was empty). */
  readonly events: EventEmitter;
  /** Destroy every held response and connection. */
  dropAll(): void;
}

/**
 * Start the server on 127.0.0.1, port 0; closed by `t.teardown`. Service watches are always held
 * open (the fuzz targets the slice stream); slice watches follow `scripts`.
 *
 * @example
 * ```ts
 * const api = await startScriptedWatchServer(t)
 * api.scripts.push({ chunks: [Buffer.from('{"type":"BOOKMARK"'), Buffer.from(',"object":{}}\n')] })
 * ```
 */
export async function startScriptedWatchServer(t: ExecutionContext): Promise<ScriptedWatchServer> {
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  const events = new EventEmitter();
  const state: ScriptedWatchServer = {
    url: '',
    scripts: [],
    listScripts: [],
    sliceList: { kind: 'EndpointSliceList', metadata: { resourceVersion: '1' }, items: [] },
    serviceList: { kind: 'ServiceList', metadata: { resourceVersion: '1' }, items: [] },
    served: { sliceLists: 0, sliceWatches: 0, held: 0 },
    events,
    dropAll() {
      for (const res of held) res.destroy();
      held.clear();
      for (const s of sockets) s.destroy();
    },
  };
  const hold = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    held.add(res);
    res.on('close', () => held.delete(res));
    state.served.held++;
    events.emit('held');
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const watch = url.searchParams.get('watch') === '1';
    const slices = url.pathname.endsWith('/endpointslices');
    if (!watch) {
      if (slices) state.served.sliceLists++;
      const scripted = slices ? state.listScripts.shift() : undefined;
      const body = scripted ?? JSON.stringify(slices ? state.sliceList : state.serviceList);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (!slices) return hold(res);
    state.served.sliceWatches++;
    const script = state.scripts.shift();
    if (script === undefined) return hold(res);
    if (script.clearLists === true) state.listScripts.length = 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    void (async () => {
      for (const chunk of script.chunks) {
        if (res.destroyed) return;
        res.write(chunk);
        // One chunk per turn, so that the client sees the cuts (TCP may still merge some).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      res.end();
    })();
  });
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  t.teardown(async () => {
    state.dropAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

/** Cut `bytes` at the given positions (sorted, deduplicated, inside the buffer) into chunks. */
export function cut(bytes: Buffer, positions: readonly number[]): Buffer[] {
  const at = [...new Set(positions.map((p) => Math.max(0, Math.min(bytes.length, p))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of at) {
    if (p > start) chunks.push(bytes.subarray(start, p));
    start = Math.max(start, p);
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start));
  return chunks;
}
