// Demo (view): one table redrawn in place (ANSI, on a TTY) under the scene's caption, else compact summaries.
// Consumes EndpointView rows and SceneStats; produces text on the given stream.

import type { EndpointView, PodView } from './endpoint-view.js';
import { percentile, type SceneStats } from './stats.js';

const HTTP_TARGETS = new Set(['backend-service', 'backend-sticky', 'backend-nearby', 'backend-typo']);

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));

/**
 * Per-pod rows (HTTP, gRPC, database calls, latency) of the current scene, ordered by Service then name,
 * and a totals line last.
 *
 * @example
 * ```ts
 * process.stdout.write(`${tableLines(view, stats).join('\n')}\n`)
 * ```
 */
export function tableLines(view: EndpointView, stats: SceneStats): string[] {
  interface Row {
    pod: PodView | undefined;
    name: string;
    http: number;
    grpc: number;
    db: number;
    retried: number;
    latencies: number[];
  }
  const rows = new Map<string, Row>();
  const row = (name: string): Row => {
    let r = rows.get(name);
    if (r === undefined) {
      r = { pod: view.pod(name), name, http: 0, grpc: 0, db: 0, retried: 0, latencies: [] };
      rows.set(name, r);
    }
    return r;
  };
  for (const pod of view.pods()) row(pod.name);
  for (const [target, byPod] of stats.pods) {
    for (const [name, c] of byPod) {
      const r = row(name);
      if (HTTP_TARGETS.has(target)) r.http += c.requests;
      else if (target === 'backend-grpc') r.grpc += c.requests;
      r.db += c.downstream;
      r.retried += c.retried;
      for (const l of c.latenciesMs) r.latencies.push(l);
    }
  }
  const order = ['backend-service', 'backend-grpc', 'database'];
  const sorted = [...rows.values()]
    .filter((r) => r.pod !== undefined || r.http + r.grpc + r.db > 0)
    .sort((a, b) => {
      const sa = order.indexOf(a.pod?.service ?? 'zz');
      const sb = order.indexOf(b.pod?.service ?? 'zz');
      return sa - sb || a.name.localeCompare(b.name);
    });
  const lines = [
    `  ${'pod'.padEnd(32)} ${'zone'.padEnd(7)} ${'state'.padEnd(11)} ${'http'.padStart(6)} ${'grpc'.padStart(6)} ${'db'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'retried'.padStart(7)}`,
  ];
  for (const r of sorted) {
    const n = (v: number) => (v === 0 ? '·' : String(v));
    lines.push(
      `  ${r.name.slice(0, 32).padEnd(32)} ${(r.pod?.zone ?? '-').padEnd(7)} ${(r.pod?.state ?? '?').padEnd(11)} ${n(r.http).padStart(6)} ${n(r.grpc).padStart(6)} ${n(r.db).padStart(6)} ${fmt(percentile(r.latencies, 0.5)).padStart(7)} ${fmt(percentile(r.latencies, 0.99)).padStart(7)} ${n(r.retried).padStart(7)}`,
    );
  }
  const s = stats.summary();
  const affinity = s.affinityHits + s.affinityMisses === 0 ? '-' : `${s.affinityHits} hit / ${s.affinityMisses} miss`;
  lines.push(
    `  requests ${s.requests} · failed ${s.failed} · retried ${s.retried} · affinity ${affinity} · p50 ${fmt(s.p50Ms)} ms · p99 ${fmt(s.p99Ms)} ms`,
  );
  return lines;
}

/**
 * `line` cut to fit a terminal `columns` wide, with `…` where it was cut; unchanged when `columns` is
 * undefined (not a terminal). One column is left spare: a terminal that wraps as soon as a row is full
 * (Windows' console) would otherwise take two rows for a line of exactly `columns`. Counts one cell per
 * code point: the demo prints no wide (CJK, emoji) characters and no ANSI sequences inside a line.
 *
 * @example
 * ```ts
 * clipLine('  requests 812 · failed 0 · retried 3', 20) // '  requests 812 · f…'
 * ```
 */
export function clipLine(line: string, columns: number | undefined): string {
  if (columns === undefined || !Number.isInteger(columns) || columns <= 0) return line;
  const fit = Math.max(1, columns - 1);
  const chars = Array.from(line);
  return chars.length <= fit ? line : `${chars.slice(0, fit - 1).join('')}…`;
}

/** Where the demo writes. */
export interface ScreenOptions {
  /** Its `columns` (a TTY's width, read at every redraw) bounds the live table's lines. */
  readonly out: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Redraw a live table (a TTY and not `--once`); otherwise print summaries only. */
  readonly live: boolean;
  readonly view: EndpointView;
  readonly stats: SceneStats;
  /** Redraw period of the live table. */
  readonly refreshMs: number;
}

/**
 * The demo's screen. `log()` prints lines that stay; `caption()` sets the text above the live table.
 * Live mode redraws the table every `refreshMs` (timer unref'd); `stop()` draws it a last time.
 *
 * @example
 * ```ts
 * const screen = new Screen({ out: process.stdout, live: true, view, stats, refreshMs: 250 })
 * screen.caption(['Scene 1/6 · scale up'])
 * screen.start()
 * ```
 */
export class Screen {
  readonly #o: ScreenOptions;
  #caption: string[] = [];
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ScreenOptions) {
    this.#o = options;
  }

  get live(): boolean {
    return this.#o.live;
  }

  #write(text: string): void {
    this.#o.out.write(text);
  }

  #erase(): void {
    if (this.#drawn > 0) this.#write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (!this.#o.live || this.#stopped) return;
    this.#erase();
    // The erase moves the cursor up by rows, not lines: a line wider than the terminal would wrap onto a
    // second row that the next redraw never erases (the table piled up on an 80-column terminal). Every
    // line of the live block is therefore clipped to one row.
    const columns = (this.#o.out as Partial<NodeJS.WriteStream>).columns;
    const lines = [...this.#caption, ...tableLines(this.#o.view, this.#o.stats)].map((l) => clipLine(l, columns));
    this.#write(`${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  /** Lines that stay above the live table (or simply printed). */
  log(lines: readonly string[]): void {
    if (this.#o.live) this.#erase();
    if (lines.length > 0) this.#write(`${lines.join('\n')}\n`);
    this.#draw();
  }

  /** The caption shown above the live table (live mode only). */
  caption(lines: readonly string[]): void {
    this.#caption = [...lines];
    this.#draw();
  }

  start(): void {
    if (!this.#o.live || this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => this.#draw(), this.#o.refreshMs);
    this.#timer.unref();
    this.#draw();
  }

  /** Stop redrawing and erase the live table (the scenes' results were logged above it). Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#o.live) this.#erase();
    this.#stopped = true;
  }
}
