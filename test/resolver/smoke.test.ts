import { ClusterIPError } from '@clusterip/resolver';
import test from 'ava';

test('smoke', (t) => {
  t.true(new ClusterIPError('x') instanceof ClusterIPError);
});
