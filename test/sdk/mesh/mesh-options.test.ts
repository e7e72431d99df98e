import { StaticSource } from '@clusterip/resolver/testing';
import { Mesh, type MeshOptions } from '@clusterip/sdk';
import { configureMesh } from '@clusterip/sdk/internal/mesh/mesh-options.js';
import test from 'ava';

const bad: [string, unknown, string][] = [
  ['unknown key', { polciy: 'random' }, 'polciy'],
  ['bad policy', { policy: 'fastest' }, 'policy'],
  [
    'bad affinity timeout',
    { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 0 } },
    'sessionAffinity.timeoutSeconds',
  ],
  ['bad affinity key', { affinityKey: { header: 'bad header' } }, 'affinityKey.header'],
  ['unknown retry key', { retry: { attempt: 3 } }, 'retry.attempt'],
  ['bad statuses', { retry: { statuses: [99] } }, 'retry.statuses'],
  ['backoff order', { retry: { backoff: { baseMs: 100, maxMs: 10 } } }, 'retry.backoff.maxMs'],
  ['timeouts unit', { timeouts: { connect: 5 } }, 'timeouts.connect'],
  ['pool', { pool: { connections: 0 } }, 'pool.connections'],
  ['allowH2', { pool: { allowH2: 'yes' } }, 'pool.allowH2'],
  ['maxConcurrentStreams', { pool: { maxConcurrentStreams: 0 } }, 'pool.maxConcurrentStreams'],
  ['pingIntervalMs', { pool: { pingIntervalMs: -1 } }, 'pool.pingIntervalMs'],
  ['pingTimeoutMs', { pool: { pingTimeoutMs: 0 } }, 'pool.pingTimeoutMs'],
  ['serviceProxyName', { serviceProxyName: 'not a label' }, 'serviceProxyName'],
  ['servername', { connect: { servername: 'x' } }, 'connect.servername'],
  ['service key', { services: { web: {} } }, 'services["web"]'],
  ['override path', { services: { 'web.shop': { policy: 'nope' } } }, 'services["web.shop"].policy'],
  ['override unknown', { services: { 'web.shop': { pool: {} } } }, 'services["web.shop"].pool'],
  ['source and resolver', { source: new StaticSource(), resolver: {} }, 'resolver'],
  ['notFound', { notFound: 'ignore' }, 'notFound'],
  ['context unknown key', { context: { namespaces: 'shop' } }, 'context.namespaces'],
  ['context value type', { context: { namespace: 42 } }, 'context.namespace'],
  ['context dns', { context: { dns: 0 } }, 'context.dns'],
  ['circuitBreaker type', { circuitBreaker: 'on' }, 'circuitBreaker'],
  ['circuitBreaker unknown', { circuitBreaker: { timeout: 5 } }, 'circuitBreaker.timeout'],
  [
    'circuitBreaker threshold',
    { circuitBreaker: { errorThresholdPercent: 0 } },
    'circuitBreaker.errorThresholdPercent',
  ],
  [
    'circuitBreaker buckets',
    { circuitBreaker: { rollingWindowMs: 5, rollingBuckets: 10 } },
    'circuitBreaker.rollingBuckets',
  ],
  [
    'circuitBreaker override',
    { services: { 'web.shop': { circuitBreaker: { resetTimeoutMs: -1 } } } },
    'services["web.shop"].circuitBreaker.resetTimeoutMs',
  ],
];
for (const [name, options, option] of bad) {
  test(`rejects ${name} with the option path`, (t) => {
    const err = t.throws(() => configureMesh(options as MeshOptions));
    t.is((err as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((err as { option?: string }).option, option);
  });
}

test('an undici option name, or a duration without its unit, names the Mesh option to use instead', (t) => {
  const cases: [unknown, string, string][] = [
    [{ headersTimeout: 1000 }, 'headersTimeout', 'timeouts.headersMs'],
    [{ connectTimeout: 1000 }, 'connectTimeout', 'timeouts.connectMs'],
    [{ connections: 8 }, 'connections', 'pool.connections'],
    [{ keepAliveTimeout: 4000 }, 'keepAliveTimeout', 'pool.keepAliveTimeoutMs'],
    [{ namespace: 'shop' }, 'namespace', 'context.namespace'],
    [{ pool: { keepAliveTimeout: 4000 } }, 'pool.keepAliveTimeout', 'keepAliveTimeoutMs'],
    [{ timeouts: { connect: 100 } }, 'timeouts.connect', 'connectMs'],
    [{ timeouts: { bodyTimeout: 100 } }, 'timeouts.bodyTimeout', 'bodyMs'],
    [{ services: { 'web.shop': { headersTimeout: 1 } } }, 'services["web.shop"].headersTimeout', 'timeouts.headersMs'],
  ];
  for (const [options, option, instead] of cases) {
    const err = t.throws(() => configureMesh(options as MeshOptions), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
    t.is((err as { option?: string }).option, option);
    t.true(err?.message.endsWith(`use ${instead} instead`), err?.message);
  }
  // No suggestion of an option that does not exist where the key was given.
  const resolve = t.throws(() => configureMesh({ services: { 'web.shop': { timeouts: { resolve: 1 } } } } as never));
  t.regex(resolve?.message ?? '', /unexpected option \(known: connectMs, headersMs, bodyMs\)$/);
});

test('a bad element of retry.statuses or retry.errorCodes is named with its index', (t) => {
  const statuses = t.throws(() => configureMesh({ retry: { statuses: [502, '503'] } } as never));
  t.regex(
    statuses?.message ?? '',
    /^retry\.statuses must be an array of HTTP statuses \(100-599\), got "503" at \[1\]$/,
  );
  const codes = t.throws(() => configureMesh({ retry: { errorCodes: [''] } }));
  t.regex(codes?.message ?? '', /^retry\.errorCodes must be an array of error codes, got "" at \[0\]$/);
  const notArray = t.throws(() => configureMesh({ retry: { statuses: 503 } } as never));
  t.regex(notArray?.message ?? '', /, got 503$/);
});

test('defaults, per-Service overrides inherit the rest, and everything is frozen', (t) => {
  const config = configureMesh({
    policy: 'least-request',
    retry: { attempts: 2 },
    services: { 'pay.prod': { retry: false, timeouts: { headersMs: 500 } } },
  });
  t.is(config.defaults.policy, 'least-request');
  t.is(config.defaults.retry?.attempts, 2);
  t.deepEqual([...(config.defaults.retry?.statuses ?? [])], [502, 503, 504]);
  const pay = config.services.get('pay.prod')!;
  t.is(pay.policy, 'least-request');
  t.is(pay.retry, undefined);
  t.is(pay.timeouts.headersMs, 500);
  t.is(pay.timeouts.connectMs, 5000);
  t.true(Object.isFrozen(config) && Object.isFrozen(pay) && Object.isFrozen(pay.timeouts));
});

test('circuitBreaker: off by default, true takes the defaults, overrides merge over the defaults or the base', (t) => {
  t.is(configureMesh({}).defaults.circuitBreaker, undefined);
  const defaults = {
    errorThresholdPercent: 50,
    volumeThreshold: 20,
    resetTimeoutMs: 10_000,
    rollingWindowMs: 10_000,
    rollingBuckets: 10,
  };
  t.deepEqual(configureMesh({ circuitBreaker: true }).defaults.circuitBreaker, defaults);
  const config = configureMesh({
    circuitBreaker: { volumeThreshold: 5 },
    services: {
      'pay.prod': { circuitBreaker: { resetTimeoutMs: 2000 } },
      'web.shop': { circuitBreaker: false },
      'api.shop': { circuitBreaker: true },
      'cart.shop': { policy: 'round-robin' },
    },
  });
  t.deepEqual(config.defaults.circuitBreaker, { ...defaults, volumeThreshold: 5 });
  t.deepEqual(config.services.get('pay.prod')?.circuitBreaker, {
    ...defaults,
    volumeThreshold: 5,
    resetTimeoutMs: 2000,
  });
  t.is(config.services.get('web.shop')?.circuitBreaker, undefined);
  t.deepEqual(config.services.get('api.shop')?.circuitBreaker, { ...defaults, volumeThreshold: 5 });
  t.is(config.services.get('cart.shop')?.circuitBreaker, config.defaults.circuitBreaker);
  const only = configureMesh({ services: { 'pay.prod': { circuitBreaker: { volumeThreshold: 1 } } } });
  t.is(only.defaults.circuitBreaker, undefined);
  t.deepEqual(only.services.get('pay.prod')?.circuitBreaker, { ...defaults, volumeThreshold: 1 });
  t.true(Object.isFrozen(only.services.get('pay.prod')?.circuitBreaker));
});

test('the Mesh constructor validates before allocating anything, and keeps telemetry providers', async (t) => {
  t.throws(() => new Mesh({ source: new StaticSource(), retry: { attempts: 0 } }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
  // A namespace that breaks the naming rules fails here, not at every request.
  t.throws(() => new Mesh({ source: new StaticSource(), context: { namespace: 'Shop' } }), {
    code: 'CLUSTERIP_ERR_INVALID_NAME',
  });
  const tracerProvider = {};
  const mesh = new Mesh({
    source: new StaticSource(),
    context: { namespace: 'shop', resolvConf: '', env: {} },
    tracerProvider,
  });
  t.is(mesh.telemetry.tracerProvider, tracerProvider);
  t.is(mesh.serviceConfig().policy, 'random');
  t.is(mesh.balancerOptions({ namespace: 'shop', name: 'web' }, 'web.shop:80').service, 'web.shop:80');
  await mesh.close();
});
