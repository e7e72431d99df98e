import { meshChannelOptions, register, serviceConfig } from '@clusterip/sdk/grpc';
import test from 'ava';
import { createFakeCluster } from '../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods } from '../helpers/grpc-test-server.js';

/** Active handles that keep the loop alive, by type (timers included). */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

test('after channel.close(), plugin close() and cluster teardown no handles remain', async (t) => {
  const baseline = handles();
  await t
    .try(async (tt) => {
      const cluster = await createFakeCluster(tt);
      const pods = createGrpcPods(tt, cluster, 'echo');
      await Promise.all([pods.add('echo-1', '127.0.0.91'), pods.add('echo-2', '127.0.0.92')]);
      const registration = register({ resolver: cluster.resolver });
      tt.teardown(() => registration.close());
      const echo = createEchoClient(tt, 'kubernetes:///echo:grpc', {
        ...meshChannelOptions({ resolver: cluster.resolver }),
        'grpc.service_config': serviceConfig({ policy: 'least-request', waitForReady: true }),
      });
      const streams = [echo.chat(), echo.chat()];
      await Promise.all(streams.map((s) => s.send()));
      for (let i = 0; i < 50; i++) await echo.who();
      await Promise.all(streams.map((s) => s.end()));
      echo.close();
      for (const server of pods.servers.values()) await server.shutdown();
      tt.pass();
    })
    .then((attempt) => attempt.commit());
  // Teardowns of the attempt ran: every socket, server, watch and timer must be gone (grpc-js closes its
  // transports on the next ticks; wait for events rather than time, bounded).
  const leftovers = () => {
    const now = handles();
    const extra: string[] = [];
    for (const [type, n] of now)
      if (n > (baseline.get(type) ?? 0)) extra.push(`${type}×${n - (baseline.get(type) ?? 0)}`);
    return extra;
  };
  for (let i = 0; i < 200 && leftovers().length > 0; i++) await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(leftovers(), []);
});
