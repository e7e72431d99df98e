// CLI exit codes: each typed error maps to the documented status; an attached status wins.

import { ApiRequestError, InvalidArgumentError, PortNotFoundError, ServiceNotFoundError } from '@clusterip/resolver';
import { NoEndpointsError } from '@clusterip/sdk';
import { EXIT, exitCodeFor, withExit } from '@clusterip/sdk/internal/cli/exit-codes.js';
import test from 'ava';

test('typed errors map to the documented exit codes', (t) => {
  t.deepEqual({ ...EXIT }, { ok: 0, problems: 1, usage: 2, unreachable: 3, notFound: 4 });
  t.is(exitCodeFor(new InvalidArgumentError('--port', 'bad')), 2);
  t.is(exitCodeFor(new ApiRequestError('https://k', '/version', 'network', 'refused')), 3);
  t.is(exitCodeFor(new ServiceNotFoundError('web', [])), 4);
  t.is(exitCodeFor(new PortNotFoundError('web.prod', 'grpc', 'http/80/TCP')), 4);
  t.is(exitCodeFor(new NoEndpointsError('web.prod:http', 0, '')), 1);
  t.is(exitCodeFor(new Error('boom')), 1);
  t.is(exitCodeFor(withExit(new InvalidArgumentError('kubeconfig', 'no cluster'), EXIT.unreachable)), 3);
});
