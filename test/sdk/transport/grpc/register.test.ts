import { Resolver, StaticSource } from '@clusterip/resolver';
import { meshChannelOptions, register } from '@clusterip/sdk/grpc';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';

const mesh = () => ({ resolver: new Resolver({ source: new StaticSource([]) }) });

test.serial('register() is idempotent and registers the scheme and the policy', async (t) => {
  const a = register();
  const b = register();
  t.is(a, b);
  t.true(grpc.experimental.isLoadBalancerNameRegistered('clusterip'));
  // A mesh given later is adopted while nothing was created yet; the same mesh again is fine.
  const m = mesh();
  t.is(register(m), a);
  t.is(register(m), a);
  t.is(a.mesh, m);
  const error = t.throws(() => register(mesh()));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  await a.close();
  t.true(a.closed);
  t.is(a.close(), a.close());
  const c = register(mesh());
  t.not(c, a);
  await c.close();
});

test('register() and meshChannelOptions() reject what is not a mesh', (t) => {
  for (const bad of [null, 42, {}, { resolver: {} }]) {
    const e1 = t.throws(() => register(bad as never));
    t.is((e1 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    const e2 = t.throws(() => meshChannelOptions(bad as never));
    t.is((e2 as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  }
});

test('importing the entry registers nothing', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as g from '@grpc/grpc-js'; await import('@clusterip/sdk/grpc'); console.log(g.experimental.isLoadBalancerNameRegistered('clusterip'))",
    ],
    { cwd: new URL('../../../../../packages/sdk/', import.meta.url), encoding: 'utf8' },
  );
  t.is(out.trim(), 'false');
});
