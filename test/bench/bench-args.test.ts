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

test('an option read for a value refuses a bare --name (or --name value) rather than using its default', (t) => {
  for (const argv of [['--rounds'], ['--rounds', '30']]) {
    const error = t.throws(() => benchArgs(argv).number('rounds', 4, { min: 1, max: 100 }), { instanceOf: RangeError });
    t.is(error.message, '--rounds: expected a value, as --rounds=<value>');
  }
  t.throws(() => benchArgs(['--dnat']).choice('dnat', ['iptables'], 'iptables'), { instanceOf: RangeError });
  t.throws(() => benchArgs(['--only']).option('only'), { instanceOf: RangeError });
});

test('a repeated option: the last one counts', (t) => {
  t.is(benchArgs(['--rounds=4', '--rounds=60']).number('rounds', 1, { min: 1, max: 100 }), 60);
  t.is(benchArgs(['--only=a', '--only=b']).option('only'), 'b');
});

test('negative ranges and non-integers: --nice=-10 passes, --nice=-21 and --nice=1.5 are refused', (t) => {
  const nice = { min: -20, max: 19, integer: true };
  t.is(benchArgs(['--nice=-10']).number('nice', 0, nice), -10);
  t.throws(() => benchArgs(['--nice=-21']).number('nice', 0, nice), {
    message: /^--nice=-21: expected a whole number from -20 to 19/,
  });
  t.throws(() => benchArgs(['--nice=1.5']).number('nice', 0, nice), {
    message: /^--nice=1\.5: expected a whole number/,
  });
  t.throws(() => benchArgs(['--seconds=x']).number('seconds', 2, { min: 0.1, max: 9 }), {
    message: /^--seconds=x: expected a number from 0\.1 to 9, e\.g\. --seconds=2$/,
  });
});

test('object: {} when absent, the object when valid; not JSON, an array or null are refused naming the value', (t) => {
  const example = '{"retry":false}';
  t.deepEqual(benchArgs([]).object('mesh-options', example), {});
  t.deepEqual(benchArgs(['--mesh-options={"retry":false}']).object('mesh-options', example), { retry: false });
  const bad = t.throws(() => benchArgs(['--mesh-options={x']).object('mesh-options', example), {
    instanceOf: SyntaxError,
  });
  t.true(bad.message.startsWith('--mesh-options={x: not JSON ('), bad.message);
  t.true(bad.message.endsWith(`e.g. --mesh-options='${example}'`), bad.message);
  for (const text of ['[1]', 'null', '3']) {
    t.throws(() => benchArgs([`--mesh-options=${text}`]).object('mesh-options', example), {
      instanceOf: TypeError,
      message: `--mesh-options=${text}: expected a JSON object, e.g. --mesh-options='${example}'`,
    });
  }
});
