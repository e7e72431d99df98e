import { classifyHost } from '@clusterip/sdk/internal/mesh/host-classifier.js';
import test from 'ava';

const table: [string, string][] = [
  ['backend-service', 'candidate'],
  ['backend-service.production', 'candidate'],
  ['example.com', 'candidate'],
  ['backend-service.production.svc', 'cluster'],
  ['10-0-0-1.production.pod', 'cluster'],
  ['backend-service.production.svc.cluster.local', 'cluster'],
  ['cluster.local', 'cluster'],
  ['api.example.com', 'outside'],
  ['localhost', 'outside'],
  ['app.localhost', 'outside'],
  ['10.96.0.10', 'ip'],
  ['fd00::1', 'ip'],
];
for (const [host, expected] of table) {
  test(`classifyHost(${host})`, (t) => {
    t.is(classifyHost(host, 'cluster.local') as string, expected);
  });
}

test('a custom cluster domain moves the boundary', (t) => {
  t.is(classifyHost('web.shop.svc.corp.internal', 'corp.internal'), 'cluster');
  t.is(classifyHost('web.shop.svc.cluster.local', 'corp.internal'), 'outside');
});
