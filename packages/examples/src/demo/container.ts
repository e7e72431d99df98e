// Demo (real clusters): the container entrypoint running a built-in image of @clusterip/sdk/cluster.
// Consumes IMAGE, PORTS and downward-API variables; produces a server on the pod's address until SIGTERM.

import { startImage } from '@clusterip/sdk/cluster';

const image = process.env.IMAGE ?? 'clusterip/echo-http';
const ports = (process.env.PORTS ?? (image.endsWith('grpc') ? '50051' : '8080'))
  .split(',')
  .map((p) => Number(p.trim()));
if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65_535)) {
  process.stderr.write(`container: PORTS must be comma-separated port numbers, got ${process.env.PORTS}\n`);
  process.exit(2);
}
// The kubelet's grace period is terminationGracePeriodSeconds; finish in-flight requests within most of it.
const graceMs = Number(process.env.GRACE_MS ?? 8000);
const env = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'),
);
const container = await startImage(image, { host: process.env.HOST ?? '0.0.0.0', ports, env });
process.stdout.write(`${image} listening on ${ports.join(', ')}\n`);
const shutdown = () => {
  void container.stop(graceMs).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
