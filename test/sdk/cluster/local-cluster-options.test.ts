import { resolveLocalClusterOptions } from '@clusterip/sdk/internal/cluster/local-cluster-options.js';
import test from 'ava';

test('defaults: three nodes in three zones, pool 127.0.0.20-250, ready after 50 ms, frozen', (t) => {
  const config = resolveLocalClusterOptions(undefined);
  t.deepEqual(config.nodes, [
    { name: 'node-a', zone: 'zone-a' },
    { name: 'node-b', zone: 'zone-b' },
    { name: 'node-c', zone: 'zone-c' },
  ]);
  t.is(config.addresses.text, '127.0.0.20-127.0.0.250');
  t.is(config.readyDelayMs, 50);
  t.is(config.terminationGraceMs, undefined);
  t.false(config.tls);
  t.true(Object.isFrozen(config));
});

const invalid: [string, unknown, string][] = [
  ['unknown key', { readyDelay: 5 }, 'readyDelay'],
  ['manifests not strings', { manifests: ['a', 3] }, 'manifests'],
  ['objects not objects', { objects: ['x'] }, 'objects'],
  ['empty nodes', { nodes: [] }, 'nodes'],
  ['node name not a label', { nodes: [{ name: 'Node A', zone: 'z' }] }, 'nodes[0].name'],
  [
    'duplicate nodes',
    {
      nodes: [
        { name: 'a', zone: 'z' },
        { name: 'a', zone: 'y' },
      ],
    },
    'nodes',
  ],
  ['non-loopback address', { addresses: { first: '10.0.0.1', last: '10.0.0.2' } }, 'addresses.first'],
  ['reversed range', { addresses: { first: '127.0.0.9', last: '127.0.0.1' } }, 'addresses'],
  ['image not a function', { images: { 'me/app': 'nope' } }, 'images.me/app'],
  ['tls not boolean', { tls: 'yes' }, 'tls'],
  ['negative readyDelayMs', { readyDelayMs: -1 }, 'readyDelayMs'],
  ['fractional terminationGraceMs', { terminationGraceMs: 1.5 }, 'terminationGraceMs'],
];

for (const [what, options, option] of invalid) {
  test(`${what} is InvalidArgumentError naming ${option}`, (t) => {
    const error = t.throws(() => resolveLocalClusterOptions(options as never), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
    t.is((error as unknown as { option: string }).option, option);
  });
}
