import diagnosticsChannel from 'node:diagnostics_channel';
import type { Endpoint } from '@clusterip/resolver';
import { RESOLVER_CHANNEL_NAMES } from '@clusterip/resolver';
import { type BalancerAffinityMessage, CHANNEL_NAMES, createBalancer } from '@clusterip/sdk';
import { channels } from '@clusterip/sdk/internal/telemetry/channels.js';
import test from 'ava';

test('every channel is named clusterip:<stage>:<event>, once, the resolver’s included', (t) => {
  const names = Object.values(CHANNEL_NAMES);
  t.is(new Set(names).size, names.length);
  for (const n of names) t.regex(n, /^clusterip:[a-z]+:[a-z-]+$/);
  for (const n of Object.values(RESOLVER_CHANNEL_NAMES)) t.true(names.includes(n));
  for (const [key, channel] of Object.entries(channels)) {
    t.is(channel.name, CHANNEL_NAMES[key as keyof typeof CHANNEL_NAMES]);
  }
});

test.serial('a ClientIP pick publishes whether it reused its binding', (t) => {
  const endpoints: Endpoint[] = ['10.0.0.1', '10.0.0.2'].map((address) => ({
    address,
    port: 80,
    protocol: 'TCP',
    addressType: 'IPv4',
    conditions: { ready: true, serving: true, terminating: false },
  }));
  const balancer = createBalancer({ service: 'web.default:80', sessionAffinity: { type: 'ClientIP' } });
  balancer.update(endpoints);
  const seen: BalancerAffinityMessage[] = [];
  const listener = (m: unknown) => seen.push(m as BalancerAffinityMessage);
  diagnosticsChannel.subscribe(CHANNEL_NAMES.balancerAffinity, listener);
  t.teardown(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES.balancerAffinity, listener));
  balancer.pick({ affinityKey: 'u1' });
  balancer.pick({ affinityKey: 'u1' });
  t.deepEqual(
    seen.map((m) => [m.service, m.hit]),
    [
      ['web.default:80', false],
      ['web.default:80', true],
    ],
  );
  t.is(seen[0]!.endpoint, seen[1]!.endpoint);
});
