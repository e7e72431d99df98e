import { AffinityTable } from '@clusterip/sdk/internal/picker/affinity-table.js';
import test from 'ava';

test('an entry sticks while elapsed ≤ timeout (iptables boundary) and slides on each set', (t) => {
  const table = new AffinityTable<string>(1000, 10);
  table.set('c', 'A', 0);
  t.is(table.get('c', 1000), 'A');
  t.is(table.get('c', 1001), undefined);
  table.set('c', 'A', 900);
  t.is(table.get('c', 1900), 'A');
});

test('the cap evicts the least recently used key', (t) => {
  const table = new AffinityTable<string>(1_000_000, 3);
  table.set('a', 'A', 0);
  table.set('b', 'B', 1);
  table.set('c', 'C', 2);
  table.set('a', 'A', 3); // a is now the most recent
  table.set('d', 'D', 4); // evicts b
  t.is(table.size, 3);
  t.is(table.get('b', 5), undefined);
  t.is(table.get('a', 5), 'A');
  t.is(table.get('c', 5), 'C');
  t.is(table.get('d', 5), 'D');
});

test('expired entries are reaped when a new key arrives and by reap()', (t) => {
  const table = new AffinityTable<string>(100, 1000);
  for (let i = 0; i < 50; i++) table.set(`k${i}`, 'A', i);
  table.set('late', 'B', 149); // k0..k48 are older than 100 ms
  t.is(table.size, 2);
  table.reap(10_000);
  t.is(table.size, 0);
});

test('drop() removes the bindings of departed endpoints, including the most recent one', (t) => {
  const table = new AffinityTable<string>(1000, 10);
  table.set('a', 'A', 0);
  table.set('b', 'B', 0);
  table.drop((s) => s === 'B');
  t.is(table.get('b', 1), undefined);
  t.is(table.get('a', 1), 'A');
  table.set('b', 'A', 2);
  t.is(table.get('b', 3), 'A');
  table.clear();
  t.is(table.size, 0);
  t.is(table.get('b', 3), undefined);
});
