// Reliability (fuzzing) of configuration parsers: kubeconfig files, KubernetesSource and DnsSource options,
// the gRPC `clusterip` policy config, and the fake API's label/field selectors. Typed errors, no secrets.

import { promises as dnsPromises } from 'node:dns';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsSource, KubernetesSource } from '@clusterip/resolver';
import { resolveDnsSourceOptions } from '@clusterip/resolver/internal/source/dns/dns-source-options.js';
import { ApiStatusError } from '@clusterip/resolver/internal/testing/fake-kubernetes-api/api-status.js';
import { parseFieldSelector } from '@clusterip/resolver/internal/testing/fake-kubernetes-api/field-selector.js';
import { parseLabelSelector } from '@clusterip/resolver/internal/testing/fake-kubernetes-api/label-selector.js';
import { RESOURCE_KINDS } from '@clusterip/resolver/internal/testing/fake-kubernetes-api/resource-kinds.js';
import { serviceConfig } from '@clusterip/sdk/grpc';
import { policyConfig } from '@clusterip/sdk/internal/transport/grpc/grpc-service-config.js';
import test from 'ava';
import fc from 'fast-check';
import { anyValue, jsonLike, label, nameChars } from './fuzz/arbitraries.js';
import { printSummary, runFuzz, typed, typedAsync } from './fuzz/budget.js';

test.after.always(() => printSummary('fuzz-config'));

/** Secrets planted in generated configurations; no error message may contain them. */
const TOKEN = 'tok-3c1d-SECRET';
const PASSWORD = 'pw-77e1-SECRET';

function assertNoSecret(message: string): void {
  if (message.includes(TOKEN) || message.includes(PASSWORD)) throw new Error(`a secret leaked into: ${message}`);
}

const server = fc.constantFrom(
  'https://127.0.0.1:6443',
  'http://127.0.0.1:1',
  `https://admin:${PASSWORD}@10.0.0.1:6443`,
  'ftp://x',
  'not a url',
  '',
  'https://[::1]:6443/prefix/',
  'https://host:99999',
);

const kubeconfigDoc = fc.record(
  {
    apiVersion: fc.constantFrom('v1', 1),
    kind: fc.constantFrom('Config', 'Pod'),
    'current-context': fc.constantFrom('dev', '', 'missing', 7),
    contexts: fc.oneof(
      fc.constant([{ name: 'dev', context: { cluster: 'c', user: 'u', namespace: 'shop' } }]),
      fc.array(
        fc.record({
          name: fc.constantFrom('dev', 'other', 3),
          context: fc.oneof(
            fc.record(
              { cluster: fc.constantFrom('c', 'nope', 1), user: fc.constantFrom('u', 'x', null), namespace: label },
              { requiredKeys: [] },
            ),
            anyValue,
          ),
        }),
        { maxLength: 2 },
      ),
      jsonLike(['name', 'context', 'cluster', 'user'], 2),
    ),
    clusters: fc.oneof(
      fc.array(
        fc.record({
          name: fc.constantFrom('c', 'd'),
          cluster: fc.record(
            {
              server,
              'certificate-authority-data': fc.constantFrom('', '!!!', 'Zm9v', 5),
              'certificate-authority': fc.constantFrom('ca.pem', '/nonexistent/ca.pem', ''),
              'insecure-skip-tls-verify': fc.constantFrom(true, false, 'yes'),
              'tls-server-name': fc.constantFrom('kubernetes', 3),
            },
            { requiredKeys: ['server'] },
          ),
        }),
        { maxLength: 2 },
      ),
      jsonLike(['name', 'cluster', 'server'], 2),
    ),
    users: fc.oneof(
      fc.array(
        fc.record({
          name: fc.constantFrom('u', 'x'),
          user: fc.record(
            {
              token: fc.constantFrom(TOKEN, '', 4),
              tokenFile: fc.constantFrom('token', '/nonexistent/token'),
              'client-certificate-data': fc.constantFrom('Zm9v', '', '@@'),
              'client-key-data': fc.constantFrom('Zm9v', '', '@@'),
              exec: fc.constantFrom(undefined, { command: 'aws' }),
              'auth-provider': fc.constantFrom(undefined, { name: 'oidc' }),
              username: fc.constantFrom(undefined, 'admin'),
              password: fc.constantFrom(undefined, PASSWORD),
            },
            { requiredKeys: [] },
          ),
        }),
        { maxLength: 2 },
      ),
      jsonLike(['name', 'user', 'token'], 2),
    ),
  },
  { requiredKeys: [] },
);

/** A kubeconfig that works, with one top-level field replaced by a generated one. */
const VALID = {
  apiVersion: 'v1',
  kind: 'Config',
  'current-context': 'dev',
  contexts: [{ name: 'dev', context: { cluster: 'c', user: 'u', namespace: 'shop' } }],
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Zm9v' } }],
  users: [{ name: 'u', user: { token: TOKEN } }],
};
const nearlyValid = fc
  .tuple(fc.constantFrom(...Object.keys(VALID)), kubeconfigDoc)
  .map(([key, doc]) => ({ ...VALID, [key]: (doc as Record<string, unknown>)[key] }));

/** YAML text: JSON documents (JSON is YAML), hostile YAML, and text with a planted token. */
const kubeconfigText = fc.oneof(
  { weight: 4, arbitrary: kubeconfigDoc.map((d) => JSON.stringify(d, null, 1)) },
  { weight: 4, arbitrary: nearlyValid.map((d) => JSON.stringify(d)) },
  fc.constantFrom(
    'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
    `users:\n- name: u\n  user:\n    token: ${TOKEN}\n  \t bad: [\n`,
    `current-context: dev\ncontexts: [{name: dev, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://h:1"}}]\nusers: [{name: u, user: {token: !secret ${TOKEN}}}]\n`,
    `current-context: dev\ncontexts: [{name: dev, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://admin:${PASSWORD}@h:1"}}]\nusers: [{name: u, user: {token: ${TOKEN}}}]\n`,
    '!!binary AAAA',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
    '- just\n- a\n- list\n',
    '',
  ),
  fc.string({ maxLength: 200 }).map((s) => `${s}\ntoken: ${TOKEN}\n`),
);

test.serial('KubernetesSource.fromKubeconfig: typed errors without secrets, or a source that closes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-fuzz-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  // Process warnings end up on stderr: a parser warning quoting the file must not carry a token.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  let built = 0;
  await runFuzz(
    t,
    'kubeconfig',
    { weight: 0.04, runs: 1500 },
    fc.tuple(kubeconfigText, fc.constantFrom(undefined, 'dev', 'other')),
    async ([text, context]) => {
      await writeFile(path, text);
      const r = await typedAsync('fromKubeconfig', () =>
        KubernetesSource.fromKubeconfig({ path, env: {}, ...(context === undefined ? {} : { context }) }),
      );
      if (!r.ok) {
        if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
        assertNoSecret(r.error.message);
        return;
      }
      built++;
      await r.value.close();
    },
  );
  t.log(`sources built: ${built}`);
  t.true(built > 0, 'no generated kubeconfig was valid: the fuzz never reached the success path');
  // Warnings are emitted on the next tick: let them arrive before looking.
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.deepEqual(
    warnings.filter((w) => w.includes(TOKEN) || w.includes(PASSWORD)),
    [],
    'a secret was printed in a process warning',
  );
});

test.serial('KubernetesSource options: INVALID_ARG naming the option, never a secret in the message', async (t) => {
  const options = fc.oneof(
    fc.record(
      {
        server,
        token: fc.constantFrom(TOKEN, '', 3),
        tokenFile: fc.constantFrom('/nonexistent', 4),
        insecureSkipTlsVerify: fc.constantFrom(true, 'no'),
        requestTimeoutMs: fc.constantFrom(0, 1, 1.5, -1, 30_000, '5'),
        maxResponseBytes: fc.constantFrom(1, 1024, 1e12),
        idleTimeoutMs: fc.constantFrom(0, -5, 100),
        backoff: fc.oneof(fc.constant({ initialMs: 1 }), jsonLike(['initialMs', 'maxMs', 'jitter', 'factor'], 1)),
        kubeconfig: fc.constant('x'),
        timers: anyValue,
      },
      { requiredKeys: ['server'] },
    ),
    anyValue,
  );
  await runFuzz(t, 'kubernetes-source-options', { weight: 0.02, runs: 3000 }, options, async (o) => {
    const r = typed('new KubernetesSource', () => new KubernetesSource(o as never));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      assertNoSecret(r.error.message);
      return;
    }
    await r.value.close();
  });
});

test.serial('DnsSource servers: INVALID_ARG, or servers that node:dns accepts as they are', async (t) => {
  const entry = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 70_000 })).map(([h, p]) => `${h}:${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 70_000 })).map(([h, p]) => `[${h}]:${p}`),
    fc.constantFrom(
      'fe80::1%eth0',
      '[fe80::1%lo]:53',
      'localhost:53',
      '1.2.3.4:',
      ':53',
      '[::1]',
      '01.2.3.4',
      '1.2.3.4:053',
    ),
    nameChars,
    anyValue,
  );
  const input = fc.oneof(fc.array(entry, { maxLength: 4 }), anyValue);
  await runFuzz(t, 'dns-servers', { weight: 0.02, runs: 4000 }, input, (servers) => {
    const r = typed('resolveDnsSourceOptions', () => resolveDnsSourceOptions({ servers: servers as string[] }));
    if (!r.ok) {
      if (r.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${r.code}`);
      return;
    }
    // What we accept must not make c-ares throw later, inside a watch.
    const resolver = new dnsPromises.Resolver();
    try {
      resolver.setServers([...r.value.servers]);
    } catch (error) {
      throw new Error(`accepted ${JSON.stringify(r.value.servers)} but setServers throws: ${String(error)}`);
    }
    const source = typed('new DnsSource', () => new DnsSource({ servers: servers as string[] }));
    if (!source.ok) throw new Error('options accepted once, rejected the second time');
    void source.value.close();
  });
});

test.serial('gRPC clusterip policy config: INVALID_ARG or a frozen config and a JSON service config', async (t) => {
  const keys = [
    'policy',
    'sessionAffinity',
    'type',
    'timeoutSeconds',
    'outlierDetection',
    'consecutiveFailures',
    'affinityKey',
    'metadata',
    'header',
    'healthCheck',
    'serviceName',
    'waitForReady',
    'retry',
    'maxAttempts',
    'statusCodes',
    'timeoutMs',
    'slowStart',
    'windowMs',
  ];
  const input = fc.oneof(jsonLike(keys, 3), anyValue);
  await runFuzz(t, 'grpc-policy-config', { weight: 0.02, runs: 3000 }, input, (options) => {
    const p = typed('policyConfig', () => policyConfig(options));
    if (!p.ok && p.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${p.code}`);
    if (p.ok && !Object.isFrozen(p.value)) throw new Error('policy config not frozen');
    const s = typed('serviceConfig', () => serviceConfig(options as never));
    if (!s.ok) {
      if (s.code !== 'CLUSTERIP_ERR_INVALID_ARG') throw new Error(`code ${s.code}`);
      return;
    }
    JSON.parse(s.value);
  });
});

test.serial('fake API selectors: a 400 ApiStatusError or a selector, never another error', async (t) => {
  const selectorText = fc.oneof(
    fc
      .array(
        fc.oneof(
          fc
            .tuple(
              fc.oneof(label, nameChars),
              fc.constantFrom('=', '==', '!=', ' in ', ' notin '),
              fc.oneof(label, nameChars),
            )
            .map(([k, op, v]) => (op.includes('in') ? `${k}${op}(${v},x)` : `${k}${op}${v}`)),
          fc.oneof(label, nameChars).map((k) => `!${k}`),
          fc.constantFrom('a in (', 'in (a)', '(', ')', ',', '\\,', 'metadata.name=a\\,b', 'status.phase!=Running'),
        ),
        { maxLength: 4 },
      )
      .map((parts) => parts.join(',')),
    fc.string({ maxLength: 40 }),
  );
  const kinds = RESOURCE_KINDS;
  await runFuzz(
    t,
    'fake-api-selectors',
    { weight: 0.02, runs: 4000 },
    fc.tuple(selectorText, fc.nat({ max: kinds.length - 1 })),
    ([text, k]) => {
      for (const parse of [() => parseLabelSelector(text), () => parseFieldSelector(text, kinds[k]!)]) {
        try {
          parse();
        } catch (error) {
          if (!(error instanceof ApiStatusError) || error.status.code !== 400) {
            throw new Error(`selector ${JSON.stringify(text)}: ${String(error)}`);
          }
        }
      }
    },
  );
});
