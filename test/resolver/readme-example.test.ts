// Keeps the "Example" of packages/resolver/README.md runnable and true: the code below is a
// verbatim copy of it (only `console` is captured). Change both together.

import { readFile } from 'node:fs/promises';
import { format } from 'node:util';
import { Resolver, StaticSource } from '@clusterip/resolver';
import test from 'ava';

test('the README example runs and prints what its comments say', async (t) => {
  const lines: string[] = [];
  // What console.log would print (util.format), collected instead of written.
  const console = { log: (...args: unknown[]) => lines.push(format(...args)) };

  // ---- begin: packages/resolver/README.md "Example" ----
  const source = new StaticSource([
    {
      namespace: 'shop',
      name: 'backend-service',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      endpoints: [{ address: '127.0.0.2' }, { address: '127.0.0.3' }],
    },
  ]);
  // Off-cluster, the context synthesizes the search list kubelet would write for a pod in "shop".
  const resolver = new Resolver({ source, context: { namespace: 'shop' } });

  const snapshot = await resolver.resolve('backend-service:http');
  console.log(snapshot.fqdn); // backend-service.shop.svc.cluster.local.
  console.log(snapshot.endpoints.map((e) => `${e.address}:${e.port}`)); // [ '127.0.0.2:8080', '127.0.0.3:8080' ]

  const watch = resolver.watch('backend-service:http', (s) => console.log(s.status, s.endpoints.length));
  await watch.ready; // ok 2
  // Scale to zero: the watch sees the change (sources deliver asynchronously).
  source.set({
    namespace: 'shop',
    name: 'backend-service',
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    endpoints: [],
  });
  for await (const s of watch) if (s.endpoints.length === 0) break; // ok 0
  await watch.close();
  await resolver.close(); // the resolver does not close the source it was given
  await source.close();
  // ---- end ----

  t.deepEqual(lines, [
    'backend-service.shop.svc.cluster.local.',
    "[ '127.0.0.2:8080', '127.0.0.3:8080' ]",
    'ok 2',
    'ok 0',
  ]);
  t.true(watch.closed);
  t.true(resolver.closed);
});

test('the README example is the code this test runs', async (t) => {
  const readme = await readFile(new URL('../../../packages/resolver/README.md', import.meta.url), 'utf8');
  const self = await readFile(new URL('../../../test/resolver/readme-example.test.ts', import.meta.url), 'utf8');
  const example = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(example, 'the README has an Example ts block');
  const copy = /\/\/ ---- begin: [^\n]*\n([\s\S]*?)\s*\/\/ ---- end ----/.exec(self)?.[1];
  t.truthy(copy);
  const body = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('import '));
  t.deepEqual(body(copy ?? ''), body(example ?? ''), 'README example and test copy differ: update both');
});
