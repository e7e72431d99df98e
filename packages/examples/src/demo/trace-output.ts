// Demo (telemetry): the OTel SDK an application would register — spans in memory and as JSON lines in a file.
// Consumes the SDK's and the pods' spans; produces the file and the printed tree of one request.

import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type ExportResult,
  ExportResultCode,
  hrTimeToMicroseconds,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/**
 * Root spans with this attribute are always sampled: the request whose tree the demo prints.
 *
 * @example
 * ```ts
 * tracer.startSpan('frontend GET /checkout', { attributes: { [ATTR_DEMO_TRACED]: true } })
 * ```
 */
export const ATTR_DEMO_TRACED = 'clusterip.demo.traced';

/**
 * Samples every root span marked {@link ATTR_DEMO_TRACED} and one in `every` of the others (the load loop
 * would otherwise write tens of thousands of spans); children follow their parent (ParentBased).
 */
class DemoRootSampler implements Sampler {
  readonly #every: number;
  #n = 0;
  constructor(every: number) {
    this.#every = every;
  }
  shouldSample(
    _context: unknown,
    _traceId: string,
    _name: string,
    _kind: unknown,
    attributes: Record<string, unknown>,
  ): SamplingResult {
    const keep = attributes[ATTR_DEMO_TRACED] === true || this.#n++ % this.#every === 0;
    return { decision: keep ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  }
  toString(): string {
    return `DemoRootSampler{1/${this.#every}}`;
  }
}

/** Writes every span as one JSON object per line (the same fields an OTLP/JSON exporter carries). */
class JsonLinesExporter implements SpanExporter {
  readonly #out: WriteStream;
  #written = 0;
  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#out = createWriteStream(path, { flags: 'w' });
    // A write error (disk full) must not crash the demo: telemetry never stops the app.
    this.#out.on('error', () => {});
  }
  get written(): number {
    return this.#written;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const s of spans) {
      this.#written++;
      this.#out.write(
        `${JSON.stringify({
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId,
          name: s.name,
          kind: SpanKind[s.kind],
          scope: s.instrumentationScope.name,
          startTimeUnixMicros: hrTimeToMicroseconds(s.startTime),
          durationMicros: hrTimeToMicroseconds(s.duration),
          status: s.status,
          attributes: s.attributes,
          events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
        })}\n`,
      );
    }
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return new Promise((resolve) => this.#out.end(resolve));
  }
}

/** Keeps finished spans in memory (bounded) and says when one arrives. */
class NotifyingExporter extends InMemorySpanExporter {
  readonly events = new EventEmitter();
  override export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    // Bounded: the demo only needs the traced request's spans, which come last.
    if (this.getFinishedSpans().length > 20_000) this.reset();
    super.export(spans, done);
    this.events.emit('span');
  }
}

/**
 * The demo's OpenTelemetry setup, registered globally (so the embedded cluster's pods, in this process,
 * report their SERVER spans to it too). `close()` flushes and closes the file; idempotent.
 *
 * @example
 * ```ts
 * const otel = startTracing('.clusterip/demo-traces.jsonl')
 * // … requests …
 * console.log(renderTrace(otel.spansOf(traceId)))
 * await otel.close()
 * ```
 */
export interface DemoTracing {
  readonly provider: BasicTracerProvider;
  readonly file: string;
  /** Spans written to the file so far. */
  readonly written: number;
  /** Finished spans of one trace. */
  spansOf(traceId: string): ReadableSpan[];
  /** Resolves when `check(spans of the trace)` holds, or after `timeoutMs` (then with what there is). */
  waitForTrace(traceId: string, check: (spans: ReadableSpan[]) => boolean, timeoutMs: number): Promise<ReadableSpan[]>;
  close(): Promise<void>;
}

/**
 * Register the OTel SDK for the demo: an AsyncLocalStorage context manager, the W3C propagator, a tracer
 * provider sampling 1 in `sampleEvery` load requests and every request marked {@link ATTR_DEMO_TRACED}.
 *
 * @example
 * ```ts
 * const otel = startTracing('.clusterip/demo-traces.jsonl', 100)
 * ```
 */
export function startTracing(file: string, sampleEvery = 100): DemoTracing {
  const memory = new NotifyingExporter();
  const lines = new JsonLinesExporter(file);
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new DemoRootSampler(sampleEvery) }),
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(lines)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  let closing: Promise<void> | undefined;
  const spansOf = (traceId: string) => memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  return {
    provider,
    file,
    get written() {
      return lines.written;
    },
    spansOf,
    waitForTrace: (traceId, check, timeoutMs) =>
      new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          memory.events.off('span', onSpan);
          resolve(spansOf(traceId));
        };
        const onSpan = () => {
          if (check(spansOf(traceId))) done();
        };
        const timer = setTimeout(done, timeoutMs);
        timer.unref();
        memory.events.on('span', onSpan);
        onSpan();
      }),
    close: () => {
      closing ??= (async () => {
        await provider.forceFlush();
        await provider.shutdown();
        trace.disable();
        propagation.disable();
        context.disable();
      })();
      return closing;
    },
  };
}

/** Attributes worth showing in the tree, in this order, with short labels. */
const SHOWN: readonly [string, string][] = [
  ['clusterip.endpoint.pod', 'pod'],
  ['clusterip.endpoint.zone', 'zone'],
  ['clusterip.policy', 'policy'],
  ['clusterip.attempt', 'attempt'],
  ['clusterip.attempts', 'attempts'],
  ['clusterip.affinity', 'affinity'],
  ['network.peer.address', 'peer'],
  ['network.peer.port', 'port'],
  ['http.response.status_code', 'status'],
  ['rpc.grpc.status_code', 'grpc-status'],
  ['k8s.pod.name', 'pod'],
  ['url.path', 'path'],
];

/**
 * The span tree of one trace, one line per span: name, kind, duration and the routing attributes.
 *
 * @example
 * ```ts
 * console.log(renderTrace(otel.spansOf(traceId)).join('\n'))
 * ```
 */
export function renderTrace(spans: readonly ReadableSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    const list = children.get(key) ?? [];
    list.push(s);
    children.set(key, list);
  }
  for (const list of children.values())
    list.sort((a, b) => hrTimeToMicroseconds(a.startTime) - hrTimeToMicroseconds(b.startTime));
  const lines: string[] = [];
  const walk = (span: ReadableSpan, prefix: string, last: boolean, root: boolean, parent?: ReadableSpan) => {
    const shown = SHOWN.filter(([k]) => span.attributes[k] !== undefined).map(
      ([k, label]) => `${label}=${String(span.attributes[k])}`,
    );
    // A pod's SERVER span: name the pod the client span above it was sent to.
    const sentTo = parent?.attributes['clusterip.endpoint.pod'];
    if (span.kind === SpanKind.SERVER && sentTo !== undefined && !shown.some((a) => a.startsWith('pod='))) {
      shown.unshift(`on ${String(sentTo)}`);
    }
    const attrs = shown.join(' ');
    const ms = (hrTimeToMicroseconds(span.duration) / 1000).toFixed(1);
    const head = root ? '' : last ? '└─ ' : '├─ ';
    lines.push(`${prefix}${head}${span.name} [${SpanKind[span.kind]}] ${ms} ms${attrs === '' ? '' : `  ${attrs}`}`);
    const kids = children.get(span.spanContext().spanId) ?? [];
    kids.forEach((k, i) => {
      walk(k, root ? prefix : `${prefix}${last ? '   ' : '│  '}`, i === kids.length - 1, false, span);
    });
  };
  for (const r of children.get(undefined) ?? []) walk(r, '', true, true);
  return lines;
}
