import { envVariableName, readServiceFromEnv } from '@clusterip/resolver';
import test from 'ava';

// The variables kubelet writes (spec §8; shapes as in kubelet's envvars_test.go).
const ENV = {
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
  KUBERNETES_PORT: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
  KUBERNETES_PORT_443_TCP_PORT: '443',
  KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  BACKEND_SERVICE_SERVICE_HOST: '10.96.45.200',
  BACKEND_SERVICE_SERVICE_PORT: '4000',
  BACKEND_SERVICE_SERVICE_PORT_HTTP_API: '4000',
  BACKEND_SERVICE_SERVICE_PORT_METRICS: '9090',
  BACKEND_SERVICE_PORT_4000_TCP_PROTO: 'tcp',
  BACKEND_SERVICE_PORT_9090_TCP_PROTO: 'tcp',
  DNS_SERVICE_HOST: 'fd00::a',
  DNS_SERVICE_PORT: '53',
  DNS_PORT_53_UDP_PROTO: 'udp',
};

test('envVariableName is kubelet makeEnvVariableName', (t) => {
  t.is(envVariableName('backend-service'), 'BACKEND_SERVICE');
  t.is(envVariableName('1abc'), '1ABC');
});

test('reads host, first port and named ports', (t) => {
  t.deepEqual(readServiceFromEnv('backend-service', ENV), {
    host: '10.96.45.200',
    port: 4000,
    ports: [
      { name: 'http-api', port: 4000, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
  });
  t.deepEqual(readServiceFromEnv('kubernetes', ENV)?.ports, [{ name: 'https', port: 443, protocol: 'TCP' }]);
});

test('unnamed single port, IPv6 host kept unbracketed, protocol from _PROTO', (t) => {
  t.deepEqual(readServiceFromEnv('dns', ENV), {
    host: 'fd00::a',
    port: 53,
    ports: [{ name: '', port: 53, protocol: 'UDP' }],
  });
});

test("another Service's variables under the same prefix are not taken for named ports", (t) => {
  // All that kubelet writes for `web` (one unnamed port) and for `web-service-port-x` (port named http).
  const env = {
    WEB_SERVICE_HOST: '10.0.0.1',
    WEB_SERVICE_PORT: '80',
    WEB_PORT: 'tcp://10.0.0.1:80',
    WEB_PORT_80_TCP_PROTO: 'tcp',
    WEB_SERVICE_PORT_X_SERVICE_HOST: '10.0.0.2',
    WEB_SERVICE_PORT_X_SERVICE_PORT: '8080',
    WEB_SERVICE_PORT_X_SERVICE_PORT_HTTP: '8080',
    WEB_SERVICE_PORT_X_PORT: 'tcp://10.0.0.2:8080',
    WEB_SERVICE_PORT_X_PORT_8080_TCP_PORT: '8080',
    WEB_SERVICE_PORT_X_PORT_8080_TCP_PROTO: 'tcp',
  };
  t.deepEqual(readServiceFromEnv('web', env)?.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
  t.deepEqual(readServiceFromEnv('web-service-port-x', env)?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
});

test('absent or garbage variables give undefined', (t) => {
  t.is(readServiceFromEnv('missing', ENV), undefined);
  t.is(readServiceFromEnv('x', { X_SERVICE_HOST: '10.0.0.1', X_SERVICE_PORT: 'eighty' }), undefined);
  t.is(readServiceFromEnv('x', { X_SERVICE_HOST: 'not-an-ip', X_SERVICE_PORT: '80' }), undefined);
  t.is(readServiceFromEnv('x', { X_SERVICE_HOST: '10.0.0.1', X_SERVICE_PORT: '70000' }), undefined);
});

test('an invalid Service name is a typed error', (t) => {
  t.is((t.throws(() => readServiceFromEnv('Bad_Name', ENV)) as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
});
