import { serviceConfig } from '@clusterip/sdk/grpc';
import {
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  healthCheckConfig,
  ServingStatus,
} from '@clusterip/sdk/internal/transport/grpc/grpc-health-check.js';
import { policyConfig } from '@clusterip/sdk/internal/transport/grpc/grpc-service-config.js';
import test from 'ava';

test('HealthCheckRequest is encoded as protobuf: field 1, length-delimited; the empty name is omitted', (t) => {
  t.deepEqual([...encodeHealthCheckRequest('')], []);
  t.deepEqual([...encodeHealthCheckRequest('a')], [0x0a, 0x01, 0x61]);
  const long = 'x'.repeat(200);
  // 200 needs a two-byte varint: 0xc8 0x01.
  t.deepEqual([...encodeHealthCheckRequest(long).subarray(0, 3)], [0x0a, 0xc8, 0x01]);
  t.is(decodeHealthCheckRequest(encodeHealthCheckRequest(long)), long);
  t.is(decodeHealthCheckRequest(encodeHealthCheckRequest('grpc.health.v1.Health')), 'grpc.health.v1.Health');
  t.is(decodeHealthCheckRequest(encodeHealthCheckRequest('é')), 'é');
});

test('HealthCheckResponse decodes each ServingStatus, skips unknown fields and rejects truncated bytes', (t) => {
  t.is(decodeHealthCheckResponse(Buffer.alloc(0)), ServingStatus.UNKNOWN);
  t.is(decodeHealthCheckResponse(Buffer.from([0x08, 0x01])), ServingStatus.SERVING);
  t.is(decodeHealthCheckResponse(Buffer.from([0x08, 0x02])), ServingStatus.NOT_SERVING);
  t.is(decodeHealthCheckResponse(Buffer.from([0x08, 0x03])), ServingStatus.SERVICE_UNKNOWN);
  for (const s of [0, 1, 2, 3]) t.is(decodeHealthCheckResponse(encodeHealthCheckResponse(s)), s);
  // Unknown fields of every wire type before the status: 2 (varint), 3 (bytes), 4 (fixed64), 5 (fixed32).
  const withUnknown = Buffer.from([
    0x10, 0x96, 0x01, 0x1a, 0x02, 0x68, 0x69, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4, 0x08, 0x02,
  ]);
  t.is(decodeHealthCheckResponse(withUnknown), ServingStatus.NOT_SERVING);
  t.throws(() => decodeHealthCheckResponse(Buffer.from([0x08])), { message: /truncated/ });
  t.throws(() => decodeHealthCheckResponse(Buffer.from([0x1a, 0x05, 0x68])), { message: /truncated/ });
  t.throws(() => decodeHealthCheckResponse(Buffer.from([0x0b])), { message: /wire type 3/ });
});

test('healthCheck is off by default; true and {} turn it on with the defaults; the config survives JSON', (t) => {
  t.is(healthCheckConfig(undefined, 'healthCheck'), undefined);
  t.is(healthCheckConfig(false, 'healthCheck'), undefined);
  const defaults = { serviceName: '', initialBackoffMs: 1000, maxBackoffMs: 120_000 };
  t.deepEqual(healthCheckConfig(true, 'healthCheck'), defaults);
  t.deepEqual(healthCheckConfig({}, 'healthCheck'), defaults);
  t.true(Object.isFrozen(healthCheckConfig({}, 'healthCheck')));
  t.deepEqual(JSON.parse(serviceConfig()), { loadBalancingConfig: [{ clusterip: {} }] });
  const config = JSON.parse(serviceConfig({ healthCheck: { serviceName: 'test.Echo', initialBackoffMs: 50 } }));
  const lb = config.loadBalancingConfig[0].clusterip;
  t.deepEqual(lb, { healthCheck: { serviceName: 'test.Echo', initialBackoffMs: 50, maxBackoffMs: 120_000 } });
  // What grpc-js hands back validates to the same config.
  t.deepEqual(policyConfig(lb, 'clusterip'), lb);
});

const invalid: [string, unknown, string][] = [
  ['a string', 'yes', 'healthCheck'],
  ['an unknown key', { serviceNam: 'x' }, 'healthCheck.serviceNam'],
  ['a non-string service name', { serviceName: 5 }, 'healthCheck.serviceName'],
  ['a zero backoff', { initialBackoffMs: 0 }, 'healthCheck.initialBackoffMs'],
  ['a fractional backoff', { maxBackoffMs: 1.5 }, 'healthCheck.maxBackoffMs'],
  ['a cap below the initial backoff', { initialBackoffMs: 500, maxBackoffMs: 100 }, 'healthCheck.maxBackoffMs'],
];

for (const [title, healthCheck, option] of invalid) {
  test(`serviceConfig() rejects healthCheck with ${title}, naming ${option}`, (t) => {
    const error = t.throws(() => serviceConfig({ healthCheck } as never));
    t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((error as { option?: string }).option, option);
  });
}

test('an invalid healthCheck in a service config written by hand names the clusterip. path', (t) => {
  const error = t.throws(() => policyConfig({ healthCheck: { serviceName: [] } }, 'clusterip'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is((error as { option?: string }).option, 'clusterip.healthCheck.serviceName');
});
