import test from 'ava';
import { benchArgs } from './bench-args.js';

test('flags and options: present, absent, and an option whose name starts like another', (t) => {
  const args = benchArgs(['--quick', '--paired-only', '--only=mesh,direct']);
  t.true(args.flag('quick'));
  t.false(args.flag('verbose'));
  t.false(args.flag('paired')); // `--paired-only` is not `--paired`
  t.is(args.option('only'), 'mesh,direct');
  t.is(args.option('rounds'), undefined);
});

test('number: the fallback when absent, the value when valid, a RangeError naming a bad one', (t) => {
  const range = { min: 1, max: 100, integer: true };
  t.is(benchArgs([]).number('rounds', 4, range), 4);
  t.is(benchArgs(['--rounds=30']).number('rounds', 4, range), 30);
  t.is(benchArgs(['--paired-seconds=2.5']).number('paired-seconds', 10, { min: 0.1, max: 60 }), 2.5);
  for (const bad of ['3O', '', ' ', '0', '101', '2.5', 'Infinity']) {
    const error = t.throws(() => benchArgs([`--rounds=${bad}`]).number('rounds', 4, range), { instanceOf: RangeError });
    t.true(error.message.startsWith(`--rounds=${bad}: expected a whole number from 1 to 100`), error.message);
    t.true(error.message.includes('--rounds=4'), 'suggests a valid value');
  }
});

test('choice: the fallback when absent, one of the choices, a RangeError listing them otherwise', (t) => {
  const dnat = ['iptables', 'nftables', 'off'] as const;
  t.is(benchArgs([]).choice('dnat', dnat, 'iptables'), 'iptables');
  t.is(benchArgs(['--dnat=nftables']).choice('dnat', dnat, 'iptables'), 'nftables');
  const error = t.throws(() => benchArgs(['--dnat=nft']).choice('dnat', dnat, 'iptables'), { instanceOf: RangeError });
  t.is(error.message, '--dnat=nft: expected one of iptables, nftables, off');
});
