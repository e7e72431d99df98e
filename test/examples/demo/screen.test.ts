// The demo's screen (packages/examples/src/demo/screen.ts): lines clipped to the terminal's width, and the
// live table redrawn in place on a terminal narrower than its lines, checked on a small terminal model.

import test from 'ava';

type ScreenModule = typeof import('../../../packages/examples/dist/demo/screen.js');
type StatsModule = typeof import('../../../packages/examples/dist/demo/stats.js');
type ViewModule = typeof import('../../../packages/examples/dist/demo/endpoint-view.js');
// build/test/examples/demo/ → packages/examples/dist/demo/ (the examples package exports nothing).
const dist = new URL('../../../../packages/examples/dist/demo/', import.meta.url);
const { clipLine, Screen, tableLines } = (await import(new URL('screen.js', dist).href)) as ScreenModule;
const { SceneStats } = (await import(new URL('stats.js', dist).href)) as StatsModule;

type EndpointView = InstanceType<ViewModule['EndpointView']>;
type PodView = ReturnType<EndpointView['pods']>[number];

test('clipLine: a line wider than the terminal is cut to one row, with … where it was cut', (t) => {
  const cases: [string, number | undefined, string][] = [
    ['abcdef', undefined, 'abcdef'],
    ['abcdef', 7, 'abcdef'],
    ['abcdef', 6, 'abcd…'],
    ['abcdef', 3, 'a…'],
    ['abcdef', 1, '…'],
    ['abcdef', 0, 'abcdef'],
    ['▶ 1/7 scale — more pods', 10, '▶ 1/7 sc…'],
    ['  requests 812 · failed 0 · retried 3', 20, '  requests 812 · f…'],
  ];
  for (const [line, columns, expected] of cases) t.is(clipLine(line, columns), expected, `${line} at ${columns}`);
});

/**
 * A terminal `columns` wide, enough of one for the screen's output: printable characters wrap to the
 * next row once a row is full (xterm's deferred wrap), `\n` starts the next row, `ESC[nF` moves to the
 * start of the row n above, `ESC[J` erases from the cursor to the end of the screen.
 */
class Terminal {
  readonly rows: string[][] = [[]];
  #row = 0;
  #col = 0;

  constructor(readonly columns: number) {}

  write(text: string): boolean {
    for (let i = 0; i < text.length; ) {
      const csi = text[i] === '\x1b' ? /^.\[(\d*)([FJ])/.exec(text.slice(i, i + 12)) : null;
      if (csi !== null) {
        if (csi[2] === 'F') {
          this.#row = Math.max(0, this.#row - Number(csi[1] || 1));
          this.#col = 0;
        } else {
          this.rows[this.#row]?.splice(this.#col);
          this.rows.splice(this.#row + 1);
        }
        i += csi[0].length;
        continue;
      }
      const ch = String.fromCodePoint(text.codePointAt(i) ?? 0);
      i += ch.length;
      if (ch === '\n') this.#moveTo(this.#row + 1);
      else {
        if (this.#col >= this.columns) this.#moveTo(this.#row + 1);
        const row = this.#moveTo(this.#row, this.#col);
        row[this.#col++] = ch;
      }
    }
    return true;
  }

  #moveTo(row: number, col = 0): string[] {
    while (this.rows.length <= row) this.rows.push([]);
    this.#row = row;
    this.#col = col;
    return this.rows[row] as string[];
  }

  /** What the screen shows, one string per row, trailing empty rows dropped. */
  text(): string[] {
    const lines = this.rows.map((r) => r.join(''));
    while (lines.at(-1) === '') lines.pop();
    return lines;
  }
}

const pod = (name: string, zone: string): PodView => ({
  name,
  service: 'backend-service',
  address: '127.0.0.20:8080',
  zone,
  node: 'node-a',
  state: 'ready',
});
const pods = [pod('backend-7d9c8bq5d4-x2f4k', 'zone-a'), pod('backend-7d9c8bq5d4-h7m2p', 'zone-b')];
const view = { pods: () => pods, pod: (name: string) => pods.find((p) => p.name === name) } as unknown as EndpointView;

for (const columns of [40, 80, 120]) {
  test(`a ${columns}-column terminal: every redraw replaces the live table, stop() leaves only the logged lines`, (t) => {
    const term = new Terminal(columns);
    const stats = new SceneStats();
    stats.answered('backend-service', 'backend-7d9c8bq5d4-x2f4k', 3.2);
    // Wider than 80 columns as the demo prints them (the table is 99).
    t.true(tableLines(view, stats).some((l) => l.length > 80));
    const screen = new Screen({ out: term as unknown as NodeJS.WriteStream, live: true, view, stats, refreshMs: 1e9 });
    const caption = [
      '▶ 1/7 scale — kubectl scale to five pods, and the SDK follows',
      '  $ kubectl scale deployment/backend --replicas=5',
    ];
    screen.caption(caption);
    for (let i = 0; i < 5; i++) {
      stats.answered('backend-service', 'backend-7d9c8bq5d4-h7m2p', 1.5);
      screen.caption([...caption, `  … waiting for ${i + 1} of 5 pods to be ready in every zone of the cluster`]);
    }
    const shown = term.text();
    t.is(shown.length, caption.length + 1 + tableLines(view, stats).length, shown.join('\n'));
    t.is(shown.filter((l) => l.trimStart().startsWith('pod ')).length, 1, 'one table on screen');
    for (const line of shown) t.true(line.length <= columns);

    screen.log(['▶ 1/7 scale — done', '  ✓ all 5 pods served']);
    screen.stop();
    t.deepEqual(term.text(), ['▶ 1/7 scale — done', '  ✓ all 5 pods served']);
  });
}

test('not on a terminal (no columns): lines are written whole', (t) => {
  const chunks: string[] = [];
  const out = { write: (text: string) => chunks.push(text) > 0 } as unknown as NodeJS.WriteStream;
  const stats = new SceneStats();
  const screen = new Screen({ out, live: true, view, stats, refreshMs: 1e9 });
  screen.caption(['x'.repeat(200)]);
  screen.stop();
  t.true(chunks.join('').includes('x'.repeat(200)));
});
