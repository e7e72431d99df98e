import { meshChannelOptions, register } from '@clusterip/sdk/grpc';
import { defaultAuthority, parseGrpcTarget } from '@clusterip/sdk/internal/transport/grpc/grpc-resolver.js';
import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { createFakeCluster } from '../../../helpers/fake-cluster.js';
import { createEchoClient, createGrpcPods } from '../../../helpers/grpc-test-server.js';

// grpc-js's own URI split: kubernetes:///a → authority '', path 'a'; kubernetes://ns/a → authority 'ns'.
const targets: [string, string, string, { host: string; namespace?: string; port?: number | string }][] = [
  ['', 'web', 'web', { host: 'web' }],
  ['', 'web:8080', 'web:8080', { host: 'web', port: 8080 }],
  ['', 'web.prod:grpc', 'web.prod', { host: 'web.prod', port: 'grpc' }],
  [
    '',
    'web.prod.svc.cluster.local.:grpc',
    'web.prod.svc.cluster.local.',
    { host: 'web.prod.svc.cluster.local.', port: 'grpc' },
  ],
  ['prod', 'web:grpc', 'web.prod', { host: 'web', namespace: 'prod', port: 'grpc' }],
  ['prod', 'web:50051', 'web.prod:50051', { host: 'web', namespace: 'prod', port: 50051 }],
];

for (const [authority, path, expectedAuthority, expected] of targets) {
  test(`parses kubernetes://${authority}/${path}`, (t) => {
    const target = parseGrpcTarget({ scheme: 'kubernetes', authority, path });
    t.like(target, expected);
    t.is(defaultAuthority(target), expectedAuthority);
  });
}

const malformed: [string, string][] = [
  ['', ''],
  ['', 'a/b'],
  ['', 'web:0'],
  ['', 'web:'],
  ['', 'web..prod'],
  ['', 'web:port_name_that_is_far_too_long'],
  ['Bad_NS', 'web'],
  ['', 'Bad_Name'],
  ['', '-web'],
  ['prod', 'web-:grpc'],
  ['', '10.0.0.1:80'],
];
for (const [authority, path] of malformed) {
  test(`rejects kubernetes://${authority}/${path} with a typed error`, (t) => {
    const error = t.throws(() => parseGrpcTarget({ scheme: 'kubernetes', authority, path }));
    t.regex((error as { code?: string }).code ?? '', /^CLUSTERIP_ERR_INVALID_(NAME|ARG)$/);
  });
}

test('a malformed target fails at client construction, synchronously, with the typed error', (t) => {
  register();
  const Ctor = grpc.makeGenericClientConstructor({}, 'Nothing');
  const error = t.throws(() => new Ctor('kubernetes:///web..prod:grpc', grpc.credentials.createInsecure()));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME');
  t.regex(error!.message, /web\.\.prod/);
  // Labels no Service can have (README: these throw too, instead of failing calls UNAVAILABLE "not found").
  for (const target of ['kubernetes:///Bad_Name', 'kubernetes:///-web', 'kubernetes:///web:', 'kubernetes://a/b/c']) {
    const e = t.throws(() => new Ctor(target, grpc.credentials.createInsecure()), undefined, target);
    t.is((e as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_NAME', target);
  }
  // The message quotes the target as written (grpc-js parses kubernetes://prod as path //prod).
  const short = t.throws(() => new Ctor('kubernetes://prod', grpc.credentials.createInsecure()));
  t.regex(short!.message, /^target "kubernetes:\/\/prod": must look like/);
  t.is(
    (t.throws(() => new Ctor('kubernetes:///web:0', grpc.credentials.createInsecure())) as { code?: string }).code,
    'CLUSTERIP_ERR_INVALID_ARG',
  );
  // Upper case is lower-cased, not refused: DNS names are case-insensitive.
  new Ctor('kubernetes:///Web.Prod:grpc', grpc.credentials.createInsecure()).close();
  t.pass();
});

test('an unknown port name, a Service without endpoints and an unknown Service fail with UNAVAILABLE and say why', async (t) => {
  const cluster = await createFakeCluster(t);
  createGrpcPods(t, cluster, 'echo'); // the Service exists, no pod yet
  register();
  const options = meshChannelOptions({ resolver: cluster.resolver });

  const empty = createEchoClient(t, 'kubernetes:///echo:grpc', options);
  const e1 = await t.throwsAsync(empty.who());
  t.is((e1 as { code?: number }).code, grpc.status.UNAVAILABLE);
  t.regex(e1!.message, /echo\.default:grpc: no endpoints/);

  const port = createEchoClient(t, 'kubernetes:///echo:nope', options);
  const e2 = await t.throwsAsync(port.who());
  t.is((e2 as { code?: number }).code, grpc.status.UNAVAILABLE);
  t.regex(e2!.message, /nope/);

  const missing = createEchoClient(t, 'kubernetes:///missing:grpc', options);
  const e3 = await t.throwsAsync(missing.who());
  t.is((e3 as { code?: number }).code, grpc.status.UNAVAILABLE);
  t.regex(e3!.message, /missing/);
  t.log(e1!.message, '\n', e2!.message, '\n', e3!.message);
});

test('a Service that loses its endpoints fails fast, and a wait-for-ready call is served once a pod appears', async (t) => {
  const cluster = await createFakeCluster(t);
  const pods = createGrpcPods(t, cluster, 'echo');
  register();
  const echo = createEchoClient(t, 'kubernetes:///echo', meshChannelOptions({ resolver: cluster.resolver }));
  const waiting = echo.who({}, { waitForReady: true });
  await t.throwsAsync(echo.who(), { message: /no endpoints/ });
  await pods.add('echo-1', '127.0.0.61');
  t.is((await waiting).pod, 'echo-1');
});
