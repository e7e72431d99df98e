import {
  CircuitOpenError,
  ClusterIPError,
  Http2ConnectError,
  isClusterIPError,
  NoEligibleEndpointsError,
  NoEndpointsError,
  NoLocalEndpointsError,
  StreamRefusedError,
} from '@clusterip/sdk';
import { AddressInUseError } from '@clusterip/sdk/cluster';
import { ClusterConfigError } from '@clusterip/sdk/internal/errors/cluster-config-error.js';
import test from 'ava';

const rows: ReadonlyArray<[ClusterIPError, string, string, string]> = [
  [
    new NoEndpointsError('web.shop:http', 2, '2 not ready'),
    'NoEndpointsError',
    'CLUSTERIP_ERR_NO_ENDPOINTS',
    'service web.shop:http: no endpoints (2 known: 2 not ready)',
  ],
  [
    new NoLocalEndpointsError(
      'web.shop:http',
      'n1',
      3,
      3,
      'internalTrafficPolicy Local never falls back to other nodes',
    ),
    'NoLocalEndpointsError',
    'CLUSTERIP_ERR_NO_LOCAL_ENDPOINTS',
    'service web.shop:http: no local endpoints on node n1 (3 known, 3 usable on other nodes): internalTrafficPolicy Local never falls back to other nodes',
  ],
  [
    new NoEligibleEndpointsError('web.shop:http', 2, '2 ejected by outlier detection'),
    'NoEligibleEndpointsError',
    'CLUSTERIP_ERR_NO_ELIGIBLE_ENDPOINTS',
    'service web.shop:http: no eligible endpoints (2 known, 2 ejected by outlier detection)',
  ],
  [
    new CircuitOpenError('web.shop:http', '12 of 20 recent calls failed'),
    'CircuitOpenError',
    'CLUSTERIP_ERR_CIRCUIT_OPEN',
    'service web.shop:http: circuit open (12 of 20 recent calls failed)',
  ],
  [
    new StreamRefusedError('10.0.3.7:8080', 'GOAWAY after stream 41'),
    'StreamRefusedError',
    'CLUSTERIP_ERR_STREAM_REFUSED',
    'endpoint 10.0.3.7:8080: HTTP/2 stream refused (GOAWAY after stream 41): not processed, may go to another endpoint',
  ],
  [
    new Http2ConnectError('10.0.3.7:8080', 'other side closed'),
    'Http2ConnectError',
    'CLUSTERIP_ERR_HTTP2_CONNECT',
    'endpoint 10.0.3.7:8080: no HTTP/2 connection (other side closed): is the port serving HTTP/2? an HTTP/1.1 server on an appProtocol kubernetes.io/h2c port answers this way',
  ],
  [
    new AddressInUseError('shop/web-5d8f-x2k4q', '127.0.0.20:8080'),
    'AddressInUseError',
    'CLUSTERIP_ERR_ADDRESS_IN_USE',
    'local cluster: pod shop/web-5d8f-x2k4q: address 127.0.0.20:8080 is in use by another process (another local cluster?): stop it, or give this cluster addresses of its own (options.addresses, or clusterip cluster up --addresses 127.0.1.20-127.0.1.250)',
  ],
  [
    new ClusterConfigError('kubeconfig /home/me/.kube/config: cannot read: EACCES', '/home/me/.kube/config'),
    'ClusterConfigError',
    'CLUSTERIP_ERR_CLUSTER_CONFIG',
    'kubeconfig /home/me/.kube/config: cannot read: EACCES',
  ],
];

for (const [error, name, code, message] of rows) {
  test(`${name}: name, code, message, brand`, (t) => {
    t.is(error.name, name);
    t.is(error.code, code);
    t.is(error.message, message);
    t.true(error instanceof ClusterIPError);
    t.true(isClusterIPError(error));
    t.false(message.endsWith('.'));
  });
}
