// The demo's flags (packages/examples/src/demo/demo-options.ts): defaults, non-TTY means --once, every
// flag form, and bad input refused with InvalidArgumentError naming the option. Table-driven.

import test from 'ava';

type OptionsModule = typeof import('../../../packages/examples/dist/demo/demo-options.js');
// build/test/examples/demo/ → packages/examples/dist/demo/ (the examples package exports nothing).
const { parseDemoArgs, SCENE_IDS } = (await import(
  new URL('../../../../packages/examples/dist/demo/demo-options.js', import.meta.url).href
)) as OptionsModule;

const tty = { isTTY: true, env: {} };

test('defaults on a terminal: live, embedded cluster, every scene, 200 req/s', (t) => {
  t.deepEqual(
    { ...parseDemoArgs([], tty) },
    {
      once: false,
      kubeconfig: undefined,
      context: undefined,
      otelOut: '.clusterip/demo-traces.jsonl',
      scenes: undefined,
      rate: 200,
      node: undefined,
      help: false,
    },
  );
  t.true(Object.isFrozen(parseDemoArgs([], tty)));
});

test('stdout not a terminal means --once; NODE_NAME is the default node, an empty one is none', (t) => {
  t.true(parseDemoArgs([], { isTTY: false, env: {} }).once);
  t.is(parseDemoArgs([], { isTTY: true, env: { NODE_NAME: 'node-b' } }).node, 'node-b');
  t.is(parseDemoArgs([], { isTTY: true, env: { NODE_NAME: '' } }).node, undefined);
  t.is(parseDemoArgs(['--node', 'node-c'], { isTTY: true, env: { NODE_NAME: 'node-b' } }).node, 'node-c');
});

test('flags as `--flag value` and `--flag=value`', (t) => {
  const o = parseDemoArgs(
    [
      '--once',
      '--kubeconfig',
      'k.yaml',
      '--context=kind-dev',
      '--otel-out',
      'x/t.jsonl',
      '--scenes=rollout, scale',
      '--rate=50',
    ],
    tty,
  );
  t.true(o.once);
  t.is(o.kubeconfig, 'k.yaml');
  t.is(o.context, 'kind-dev');
  t.is(o.otelOut, 'x/t.jsonl');
  t.deepEqual(o.scenes, ['rollout', 'scale']);
  t.is(o.rate, 50);
  t.true(parseDemoArgs(['--help'], tty).help);
  t.deepEqual([...SCENE_IDS], ['traffic', 'scale', 'rollout', 'crash', 'affinity', 'topology', 'mismatch']);
});

for (const [args, option] of [
  [['--bogus'], 'bogus'],
  [['once'], 'argv'],
  [['--rate', '5'], 'rate'],
  [['--rate', '2.5'], 'rate'],
  [['--rate', 'fast'], 'rate'],
  [['--kubeconfig'], 'kubeconfig'],
  [['--kubeconfig', '--once'], 'kubeconfig'],
  [['--once=yes'], 'once'],
  [['--scenes', 'nope'], 'scenes'],
  [['--scenes', ','], 'scenes'],
] as const) {
  test(`refused: ${args.join(' ')}`, (t) => {
    const error = t.throws(() => parseDemoArgs(args, tty), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
    t.is((error as { option?: string } | undefined)?.option, option);
  });
}
