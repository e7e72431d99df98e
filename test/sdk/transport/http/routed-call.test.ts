import { isIdempotent } from '@clusterip/sdk/internal/transport/http/routed-call.js';
import test from 'ava';

test('isIdempotent: RFC 9110 idempotent methods in any case; others and case-folding traps are not', (t) => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'get', 'Delete', 'pUt']) {
    t.true(isIdempotent(method), method);
  }
  for (const method of ['POST', 'post', 'PATCH', 'CONNECT', 'ß', 'GETS', '']) t.false(isIdempotent(method), method);
});
