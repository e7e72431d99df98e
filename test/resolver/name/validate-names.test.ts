import {
  validateNamespace,
  validatePortName,
  validatePortNumber,
  validateServiceName,
  validateServicePortName,
} from '@clusterip/resolver';
import test from 'ava';

const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

const serviceNames: [string, boolean, boolean][] = [
  // name, valid relaxed (DNS-1123), valid strict (DNS-1035)
  ['backend-service', true, true],
  ['a', true, true],
  ['1abc', true, false],
  ['123', true, false],
  ['My-Svc', false, false],
  ['my_svc', false, false],
  ['-web', false, false],
  ['web-', false, false],
  ['web.prod', false, false],
  ['', false, false],
  ['a'.repeat(63), true, true],
  ['a'.repeat(64), false, false],
];
for (const [name, relaxed, strict] of serviceNames) {
  test(`validateServiceName(${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)})`, (t) => {
    t.is(
      code(() => validateServiceName(name)),
      relaxed ? undefined : 'CLUSTERIP_ERR_INVALID_NAME',
    );
    t.is(
      code(() => validateServiceName(name, { strict: true })),
      strict ? undefined : 'CLUSTERIP_ERR_INVALID_NAME',
    );
  });
}

test('the message names the value and the rule broken', (t) => {
  const error = t.throws(() => validateServiceName('My-Svc'));
  t.is(
    error?.message,
    `service name "My-Svc": must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')`,
  );
  t.regex(
    t.throws(() => validateServiceName('1abc', { strict: true }))?.message ?? '',
    /start with an alphabetic character/,
  );
  t.regex(t.throws(() => validateNamespace('a'.repeat(64)))?.message ?? '', /no more than 63 characters, got 64/);
});

test('namespaces are DNS-1123 labels', (t) => {
  t.is(
    code(() => validateNamespace('kube-system')),
    undefined,
  );
  t.is(
    code(() => validateNamespace('0prod')),
    undefined,
  );
  t.is(
    code(() => validateNamespace('Prod')),
    'CLUSTERIP_ERR_INVALID_NAME',
  );
  t.is(
    code(() => validateNamespace('prod.eu')),
    'CLUSTERIP_ERR_INVALID_NAME',
  );
});

const portNames: [string, string | undefined][] = [
  ['http', undefined],
  ['grpc-web', undefined],
  ['h2c', undefined],
  ['a'.repeat(15), undefined],
  ['a'.repeat(16), 'no more than 15 characters'],
  ['8080', 'at least one letter'],
  ['http--alt', 'consecutive hyphens'],
  ['-http', 'begin or end with a hyphen'],
  ['http-', 'begin or end with a hyphen'],
  ['HTTP', 'alpha-numeric'],
  ['my_port', 'alpha-numeric'],
  ['', 'must not be empty'],
];
for (const [name, rule] of portNames) {
  test(`validatePortName(${JSON.stringify(name)})`, (t) => {
    if (rule === undefined) {
      t.notThrows(() => validatePortName(name));
    } else {
      const error = t.throws(() => validatePortName(name));
      t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
      t.true(error?.message.includes(rule), error?.message);
    }
  });
}

test('Service port names are DNS-1123 labels and may be empty', (t) => {
  t.is(
    code(() => validateServicePortName('')),
    undefined,
  );
  t.is(
    code(() => validateServicePortName('http-metrics-and-more-than-15')),
    undefined,
  );
  t.is(
    code(() => validateServicePortName('Http')),
    'CLUSTERIP_ERR_INVALID_NAME',
  );
});

test('port numbers are 1–65535', (t) => {
  t.is(
    code(() => validatePortNumber(1)),
    undefined,
  );
  t.is(
    code(() => validatePortNumber(65535)),
    undefined,
  );
  for (const bad of [0, 65536, -1, 1.5, Number.NaN])
    t.is(
      code(() => validatePortNumber(bad)),
      'CLUSTERIP_ERR_INVALID_ARG',
    );
});
