// Reliability (fuzzing) of the Kubernetes watch stream: newline-delimited JSON cut into arbitrary chunks,
// partial and huge lines, invalid UTF-8, ERROR events, unknown types — over real HTTP, to the real client/source.

import {
  EndpointSet,
  endpointKey,
  isClusterIPError,
  KubernetesSource,
  mergeEndpointSlices,
  type SourceEvent,
} from '@clusterip/resolver';
import {
  KubeApiClient,
  KubeApiError,
} from '@clusterip/resolver/internal/source/endpoint-source-kubernetes/kube-api-client.js';
import test from 'ava';
import fc from 'fast-check';
import { jsonLike } from './fuzz/arbitraries.js';
import { printSummary, runFuzz } from './fuzz/budget.js';
import { cut, startScriptedWatchServer } from './fuzz/watch-server.js';

test.after.always(() => printSummary('fuzz-watch-stream'));

const SLICES_PATH = '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices';
/** Small on purpose: huge lines are cheap to generate. The smallest value the source accepts is 1024. */
const MAX_BYTES = 2048;
const TOKEN = 'fuzz-secret-token-5f2c';

function clientFor(url: string): KubeApiClient {
  return new KubeApiClient({
    server: new URL(url),
    insecureSkipTlsVerify: false,
    tokenRefreshIntervalMs: 60_000,
    requestTimeoutMs: 5000,
    maxResponseBytes: MAX_BYTES,
    now: Date.now,
  });
}

/** Cut positions for a buffer of up to `n` bytes: few or many, anywhere (inside UTF-8 sequences too). */
const cuts = fc.array(fc.integer({ min: 0, max: 6000 }), { maxLength: 30 });

const eventValue = fc.oneof(
  jsonLike(['type', 'object', 'metadata', 'resourceVersion'], 3),
  fc.record({ type: fc.constantFrom('ADDED', 'BOOKMARK'), object: fc.record({ s: fc.string({ unit: 'binary' }) }) }),
  fc.integer({ min: 1, max: 3 }).map((k) => ({ type: 'ADDED', object: { pad: 'x'.repeat(MAX_BYTES * k - 10) } })),
);

test.serial(
  'KubeApiClient.watch: any chunking yields exactly the events, in order; a line over the limit is too-large',
  async (t) => {
    const api = await startScriptedWatchServer(t);
    const client = clientFor(api.url);
    t.teardown(() => client.close());
    const input = fc.tuple(
      fc.array(fc.tuple(eventValue, fc.constantFrom('\n', '\r\n', '\n\n', '\n\r\n')), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      cuts,
    );
    await runFuzz(t, 'watch-line-splitting', { weight: 0.06, runs: 1500 }, input, async ([events, lastNewline, at]) => {
      let text = '';
      for (const [i, [value, eol]] of events.entries()) {
        text += JSON.stringify(value) + (i === events.length - 1 && !lastNewline ? '' : eol);
      }
      const bytes = Buffer.from(text, 'utf8');
      api.scripts.push({ chunks: cut(bytes, at) });
      const expected: unknown[] = [];
      let tooLarge = false;
      for (const [value, eol] of events) {
        const line = Buffer.byteLength(JSON.stringify(value)) + (eol.startsWith('\r') ? 1 : 0);
        if (line > MAX_BYTES) {
          tooLarge = true;
          break;
        }
        expected.push(JSON.parse(JSON.stringify(value)));
      }
      const got: unknown[] = [];
      let error: unknown;
      await client
        .watch(SLICES_PATH, { watch: '1' }, new AbortController().signal, 5000, {
          onOpen() {},
          onEvent: (e) => got.push(e),
        })
        .catch((e: unknown) => {
          error = e;
        });
      if (tooLarge) {
        if (!(error instanceof KubeApiError) || error.kind !== 'too-large') {
          throw new Error(`an event over ${MAX_BYTES} bytes was accepted (error: ${String(error)})`);
        }
      } else if (error !== undefined) throw new Error(`rejected a valid stream: ${String(error)}`);
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new Error(`events differ: got ${got.length}, expected ${expected.length}`);
      }
    });
  },
);

/** Bytes that are not a valid stream: random bytes, or a valid stream with bytes flipped or inserted. */
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  fc
    .tuple(
      fc.array(jsonLike(['type', 'object'], 2), { minLength: 1, maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(0xff, 0xc3, 0x0a, 0x7b, 0x22, 0x00, 0x0d)), { maxLength: 6 }),
    )
    .map(([values, edits]) => {
      const b = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''));
      for (const [i, byte] of edits) b[i % b.length] = byte;
      return b;
    }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(`${s}\n`, 'latin1')),
);

test.serial(
  'KubeApiClient.watch: hostile bytes end in events or a malformed/too-large KubeApiError, nothing else',
  async (t) => {
    const api = await startScriptedWatchServer(t);
    const client = clientFor(api.url);
    t.teardown(() => client.close());
    await runFuzz(
      t,
      'watch-hostile-bytes',
      { weight: 0.05, runs: 1500 },
      fc.tuple(hostileBytes, cuts),
      async ([bytes, at]) => {
        api.scripts.push({ chunks: cut(bytes, at) });
        await client
          .watch(SLICES_PATH, { watch: '1' }, new AbortController().signal, 5000, { onOpen() {}, onEvent() {} })
          .catch((error: unknown) => {
            if (!(error instanceof KubeApiError) || (error.kind !== 'malformed' && error.kind !== 'too-large')) {
              throw new Error(`unexpected failure: ${String(error)}`);
            }
          });
      },
    );
  },
);

// --- The whole source: fuzzed slice watches, then recovery to a known state ---------------------------

const SERVICE = {
  kind: 'Service',
  metadata: { name: 'web', namespace: 'prod', resourceVersion: '1' },
  spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

function slice(name: string, rv: string, endpoints: { ip: string; ready: boolean }[], port = 8080): unknown {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'prod', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready } })),
  };
}

const FINAL = slice('s-final', '900', [
  { ip: '10.1.0.1', ready: true },
  { ip: '10.1.0.2', ready: false },
]);

/** One watch line: a valid event, a protocol event, or something broken. */
const watchLine: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('ADDED', 'MODIFIED', 'DELETED'),
        fc.constantFrom('s-a', 's-b', 's-final'),
        fc.integer({ min: 2, max: 800 }),
        fc.array(fc.record({ ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.1.0.1'), ready: fc.boolean() }), {
          maxLength: 3,
        }),
        fc.constantFrom(8080, 9090),
      )
      .map(([type, name, rv, eps, port]) =>
        Buffer.from(`${JSON.stringify({ type, object: slice(name, String(rv), eps, port) })}\n`),
      ),
  },
  fc
    .constantFrom(
      '{"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{"resourceVersion":"850"}}}\n',
      '{"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{}}}\n',
      '{"type":"ERROR","object":{"kind":"Status","code":500,"message":"etcdserver: leader changed"}}\n',
      '{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}}\n',
      '{"type":"ERROR","object":{"kind":"Status","code":"x"}}\n',
      '{"type":"SYNC","object":{}}\n',
      '{"type":"ADDED"}\n',
      '{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"p"}}}\n',
      'not json at all\n',
      '\n',
      '\r\n',
    )
    .map((s) => Buffer.from(s)),
  fc
    .constantFrom(Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]))
    .map((b) => Buffer.from(b)),
  fc.constant(Buffer.from(`{"type":"ADDED","object":{"pad":"${'y'.repeat(MAX_BYTES * 2)}"}}\n`)),
  jsonLike(['type', 'object', 'kind', 'metadata', 'name', 'endpoints', 'addresses', 'ports'], 3).map((v) =>
    Buffer.from(`${JSON.stringify({ type: 'MODIFIED', object: v })}\n`),
  ),
);

/** A slice list body: valid with generated items, or wrong in one of the ways #list checks (or not JSON). */
const listBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      fc.array(
        fc.oneof(
          fc
            .tuple(fc.constantFrom('s-a', 's-b'), fc.integer({ min: 2, max: 800 }))
            .map(([n, rv]) => slice(n, String(rv), [{ ip: '10.0.0.9', ready: true }])),
          jsonLike(['kind', 'metadata', 'name', 'endpoints', 'addressType', 'ports'], 3),
        ),
        { maxLength: 3 },
      ),
      fc.constantFrom('EndpointSliceList', undefined, 'PodList'),
      fc.constantFrom('5', '', undefined, 7),
    )
    .map(([items, kind, rv]) =>
      Buffer.from(JSON.stringify({ kind, metadata: rv === undefined ? {} : { resourceVersion: rv }, items })),
    ),
  fc
    .constantFrom(
      '[]',
      'null',
      '{"kind":"EndpointSliceList","metadata":{"resourceVersion":"3"},"items":{}}',
      '{"kind":',
    )
    .map((text) => Buffer.from(text)),
  fc.constant(
    Buffer.from(
      JSON.stringify({
        kind: 'EndpointSliceList',
        metadata: { resourceVersion: '4' },
        items: [{ pad: 'q'.repeat(MAX_BYTES) }],
      }),
    ),
  ),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

test.serial(
  'KubernetesSource: fuzzed watch streams surface typed stale errors, keep going, and converge',
  async (t) => {
    const api = await startScriptedWatchServer(t);
    api.serviceList = { kind: 'ServiceList', metadata: { resourceVersion: '1' }, items: [SERVICE] };
    api.sliceList = { kind: 'EndpointSliceList', metadata: { resourceVersion: '900' }, items: [FINAL] };
    const expected = mergeEndpointSlices([FINAL], { portName: 'http' }).map(endpointKey).sort();
    const open = new Set<KubernetesSource>();
    t.teardown(() => Promise.all([...open].map((s) => s.close())));
    const streams = fc.array(fc.tuple(fc.array(watchLine, { minLength: 1, maxLength: 6 }), cuts), {
      minLength: 1,
      maxLength: 4,
    });
    const input = fc.tuple(streams, fc.array(listBody, { maxLength: 2 }));
    let staleSeen = 0;
    await runFuzz(t, 'kubernetes-source-watch', { weight: 0.14, runs: 400 }, input, async ([watches, lists]) => {
      api.scripts.length = 0;
      api.listScripts.length = 0;
      api.listScripts.push(...lists);
      for (const [lines, at] of watches) api.scripts.push({ chunks: cut(Buffer.concat(lines), at) });
      // Then a 410 forces a relist, which returns FINAL (list scripts not served yet are dropped then);
      // the next watch is held open.
      api.scripts.push({
        chunks: [Buffer.from('{"type":"ERROR","object":{"kind":"Status","code":410,"message":"expired"}}\n')],
        clearLists: true,
      });
      const source = new KubernetesSource({
        server: api.url,
        token: TOKEN,
        backoff: { initialMs: 1, maxMs: 2, jitter: 0 },
        requestTimeoutMs: 5000,
        maxResponseBytes: MAX_BYTES,
        idleTimeoutMs: 0,
      });
      open.add(source);
      let set = EndpointSet.empty();
      let closed = false;
      const problems: string[] = [];
      let sawReset = false;
      const listener = (event: SourceEvent) => {
        if (closed) problems.push(`${event.type} delivered after close`);
        if (event.type === 'stale') {
          staleSeen++;
          const e = event.error;
          if (!isClusterIPError(e) || e.code !== 'CLUSTERIP_ERR_WATCH_FAILED')
            problems.push(`stale error ${String(e)}`);
          if (e.message.includes(TOKEN)) problems.push('the token is in an error message');
          if (!e.message.includes('prod/web')) problems.push(`stale error without its subject: ${e.message}`);
        } else if (event.type === 'update') {
          const u = event.update;
          if ((u.type === 'add' || u.type === 'remove') && !sawReset) problems.push(`${u.type} before any reset`);
          if (u.type === 'reset') sawReset = true;
          set = set.apply(u);
        } else if (event.type !== 'service') problems.push(`unknown event ${JSON.stringify(event)}`);
      };
      const heldBefore = api.served.held;
      const heldAgain = new Promise<void>((resolve) => {
        const check = () => {
          // Two held watches: the Service watch, and the slice watch after the final relist.
          if (api.served.held - heldBefore >= 2) {
            api.events.off('held', check);
            resolve();
          }
        };
        api.events.on('held', check);
      });
      const watch = source.watch(
        {
          fqdn: 'web.prod.svc.cluster.local.',
          name: { kind: 'service', namespace: 'prod', service: 'web' },
          port: 'http',
        },
        listener,
      );
      await heldAgain;
      // The relist's reset was delivered before the held watch was even requested.
      const keys = set.endpoints.map(endpointKey).sort();
      await watch.close();
      await source.close();
      closed = true;
      open.delete(source);
      api.dropAll();
      if (problems.length > 0) throw new Error(problems.join('\n'));
      if (keys.join(',') !== expected.join(',')) throw new Error(`did not converge: ${keys} instead of ${expected}`);
    });
    t.log(`stale events seen (typed WatchFailedError): ${staleSeen}`);
    t.true(staleSeen > 0, 'the fuzz never produced a failure: it did not reach the error paths');
  },
);

test.serial(
  'regression (fuzz): an event over maxResponseBytes is too-large even when it arrives in one chunk',
  async (t) => {
    const api = await startScriptedWatchServer(t);
    const client = clientFor(api.url);
    t.teardown(() => client.close());
    const line = `${JSON.stringify({ type: 'ADDED', object: { pad: 'z'.repeat(MAX_BYTES) } })}\n`;
    api.scripts.push({ chunks: [Buffer.from(line)] });
    const events: unknown[] = [];
    const error = await t.throwsAsync(
      client.watch(SLICES_PATH, { watch: '1' }, new AbortController().signal, 5000, {
        onOpen() {},
        onEvent: (e) => events.push(e),
      }),
    );
    t.is((error as KubeApiError).kind, 'too-large');
    t.deepEqual(events, []);
  },
);
