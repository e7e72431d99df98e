import { parseResolvConf } from '@clusterip/resolver';
import test from 'ava';

test('a kubelet-written pod resolv.conf', (t) => {
  const conf = parseResolvConf(
    'search prod.svc.cluster.local svc.cluster.local cluster.local us-central1-a.c.proj.internal\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
  t.deepEqual(conf.nameservers, ['10.96.0.10']);
  t.deepEqual(conf.search, [
    'prod.svc.cluster.local',
    'svc.cluster.local',
    'cluster.local',
    'us-central1-a.c.proj.internal',
  ]);
  t.is(conf.ndots, 5);
  t.is(conf.timeoutSeconds, 5);
  t.is(conf.attempts, 2);
});

test('comments, tabs, CRLF, repeated keys: the last search wins, options accumulate', (t) => {
  const conf = parseResolvConf(
    [
      '# generated',
      'nameserver\t10.0.0.1 ; trailing comment',
      'search a.test b.test',
      'options ndots:2 timeout:3',
      'search c.test\t d.test',
      'options ndots:4 rotate attempts:3',
      'nameserver fd00::10',
      '',
    ].join('\r\n'),
  );
  t.deepEqual(conf.nameservers, ['10.0.0.1', 'fd00::10']);
  t.deepEqual(conf.search, ['c.test', 'd.test']);
  t.is(conf.ndots, 4);
  t.is(conf.timeoutSeconds, 3);
  t.is(conf.attempts, 3);
  t.is(conf.options.rotate, true);
});

test('domain replaces search like libc (last of the two wins)', (t) => {
  t.deepEqual(parseResolvConf('search a.test b.test\ndomain corp.test\n').search, ['corp.test']);
  t.deepEqual(parseResolvConf('domain corp.test\nsearch a.test\n').search, ['a.test']);
});

test('limits: 3 nameservers, ndots capped at 15, timeout at 30, attempts at 5', (t) => {
  const conf = parseResolvConf(
    'nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\noptions ndots:99 timeout:100 attempts:9',
  );
  t.is(conf.nameservers.length, 3);
  t.is(conf.ndots, 15);
  t.is(conf.timeoutSeconds, 30);
  t.is(conf.attempts, 5);
});

test('malformed content never throws and keeps defaults', (t) => {
  const conf = parseResolvConf(
    'nameserver not-an-ip\nnameserver\noptions ndots:-1 ndots:x timeout:\n\u0000garbage line\nsearch\n',
  );
  t.deepEqual(conf.nameservers, []);
  t.deepEqual(conf.search, []);
  t.is(conf.ndots, 1);
  t.is(conf.timeoutSeconds, 5);
  t.deepEqual(parseResolvConf('').nameservers, []);
});

test('result is frozen', (t) => {
  const conf = parseResolvConf('nameserver 10.0.0.1');
  t.true(Object.isFrozen(conf));
  t.true(Object.isFrozen(conf.nameservers));
});
