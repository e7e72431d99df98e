import { findServicePort, normalizeService } from '@clusterip/resolver';
import test from 'ava';

const svc = normalizeService({
  metadata: { name: 'web', namespace: 'prod' },
  spec: {
    ports: [
      { name: 'http', port: 80, targetPort: 'web' },
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9090 },
    ],
  },
});
const single = normalizeService({ metadata: { name: 'one', namespace: 'prod' }, spec: { ports: [{ port: 8080 }] } });

test('by name, case-insensitively', (t) => {
  t.is(findServicePort(svc, 'http').port, 80);
  t.is(findServicePort(svc, 'METRICS').port, 9090);
});

test('by number (first with that number)', (t) => {
  t.is(findServicePort(svc, 9090).name, 'metrics');
  t.is(findServicePort(svc, 53).name, 'dns');
});

test('numeric string falls back to the number', (t) => {
  t.is(findServicePort(svc, '9090').name, 'metrics');
});

test('undefined selects the single port', (t) => {
  t.is(findServicePort(single).port, 8080);
});

test('missing port → PortNotFoundError listing the ports', (t) => {
  const err = t.throws(() => findServicePort(svc, 'grpc')) as unknown as Error & { code: string };
  t.is(err.code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
  t.regex(err.message, /port "grpc" not found \(ports: http\/80\/TCP, dns\/53\/UDP/);
  t.is((t.throws(() => findServicePort(svc, 81)) as unknown as { code: string }).code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
});

test('undefined with several ports → PortNotFoundError that asks to name one', (t) => {
  const err = t.throws(() => findServicePort(svc)) as unknown as Error & { code: string };
  t.is(err.code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
  t.regex(err.message, /no port given and the service has 4 ports .*: name one, e.g. web.prod:http/);
});

test('undefined with no ports → PortNotFoundError', (t) => {
  const none = normalizeService({ metadata: { name: 'h', namespace: 'p' }, spec: { clusterIP: 'None' } });
  t.is((t.throws(() => findServicePort(none)) as unknown as { code: string }).code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
});

test("a pod's target port where the Service port is meant → PortNotFoundError that names the Service port", (t) => {
  const byNumber = normalizeService({
    metadata: { name: 'api', namespace: 'prod' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const err = t.throws(() => findServicePort(byNumber, 8080)) as unknown as Error & { code: string };
  t.is(err.code, 'CLUSTERIP_ERR_PORT_NOT_FOUND');
  t.regex(
    err.message,
    /port 8080 not found \(ports: http\/80\/TCP\): 8080 is the target port of Service port 80; .* api\.prod:80$/,
  );
  t.regex((t.throws(() => findServicePort(byNumber, '8080')) as Error).message, /target port of Service port 80/);
  t.regex(
    (t.throws(() => findServicePort(svc, 'web')) as Error).message,
    /"web" is the target port of Service port 80/,
  );
  t.notRegex((t.throws(() => findServicePort(svc, 81)) as Error).message, /target port/);
});
