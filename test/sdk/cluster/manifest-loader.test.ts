import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidManifestError } from '@clusterip/sdk/cluster';
import { loadManifestFiles, orderForApply, parseManifests } from '@clusterip/sdk/internal/cluster/manifest-loader.js';
import test from 'ava';

const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: clusterip/echo-http}]}
`;

test('multi-document YAML and JSON parse into objects with their file and document number', (t) => {
  const warnings: string[] = [];
  const objects = parseManifests(
    `${deployment('web')}---\n# only a comment\n---\n{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}\n`,
    'app.yaml',
    warnings,
  );
  t.deepEqual(
    objects.map((o) => [o.object.kind, o.file, o.document]),
    [
      ['Deployment', 'app.yaml', 1],
      ['Service', 'app.yaml', 3],
    ],
  );
  t.deepEqual(warnings, []);
  const list = parseManifests(
    '{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]}',
    'list.json',
    warnings,
  );
  t.is(list[0]?.object.kind, 'Namespace');
});

test('order for apply: Namespaces, Nodes, Services, then workloads, stable within a group', (t) => {
  const kinds = ['Deployment', 'Service', 'Pod', 'Namespace', 'Service', 'Node'];
  const items = kinds.map((kind, i) => ({ object: { kind, metadata: { name: `o${i}` } } }));
  t.deepEqual(
    orderForApply(items).map((i) => `${i.object.kind}/${i.object.metadata.name}`),
    ['Namespace/o3', 'Node/o5', 'Service/o1', 'Service/o4', 'Deployment/o0', 'Pod/o2'],
  );
});

const bad: [string, string, RegExp][] = [
  [
    'invalid YAML',
    'kind: Service\nmetadata: {name: [unclosed\n',
    /^f\.yaml: document 1: invalid YAML at line \d+, column \d+: /,
  ],
  ['a scalar document', 'just text\n', /^f\.yaml: document 1: must be a mapping \(a Kubernetes object\), got string$/],
  ['no kind', 'apiVersion: v1\nmetadata: {name: x}\n', /^f\.yaml: document 1: missing field 'kind'/],
  [
    'no apiVersion',
    'kind: Service\nmetadata: {name: x}\n',
    /^f\.yaml: document 1 \(Service x\): missing field 'apiVersion'$/,
  ],
  [
    'no name',
    'apiVersion: v1\nkind: Service\nmetadata: {labels: {a: b}}\n',
    /^f\.yaml: document 1 \(Service\): missing field 'metadata\.name'$/,
  ],
  [
    'an unknown kind',
    'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n',
    /unknown kind "Deploymnet": the local cluster serves .*\(did you mean Deployment\?\)$/,
  ],
  [
    'a wrong apiVersion',
    'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n',
    /apiVersion "extensions\/v1beta1" is not served for Deployment: use apps\/v1$/,
  ],
];

for (const [what, text, message] of bad) {
  test(`${what} is an InvalidManifestError naming file and document`, (t) => {
    const error = t.throws(() => parseManifests(`${deployment('ok')}---\n${text}`.replace(/^/, ''), 'f.yaml', []), {
      instanceOf: InvalidManifestError,
      code: 'CLUSTERIP_ERR_INVALID_MANIFEST',
    });
    // The bad document is the second one of the file.
    t.regex(error!.message.replace('document 2', 'document 1'), message);
    t.is(error!.document, 2);
    t.is(error!.file, 'f.yaml');
  });
}

test('kinds the cluster does not serve are skipped with a warning, not an error', (t) => {
  const warnings: string[] = [];
  const objects = parseManifests(
    'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n',
    'rbac.yaml',
    warnings,
  );
  t.deepEqual(objects, []);
  t.deepEqual(warnings, [
    'rbac.yaml: document 1 (ServiceAccount web): skipped: the local cluster does not serve ServiceAccount',
    'rbac.yaml: document 2 (Role r): skipped: the local cluster does not serve Role',
  ]);
});

test('files and directories: a directory gives its .yaml/.yml/.json files in name order; a missing path is InvalidArgumentError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterip-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'b.yml'), deployment('b'));
  await writeFile(join(dir, 'a.yaml'), deployment('a'));
  await writeFile(
    join(dir, 'c.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c' } }),
  );
  await writeFile(join(dir, 'README.md'), '# not a manifest');
  const objects = await loadManifestFiles([dir, join(dir, 'a.yaml')], []);
  t.deepEqual(
    objects.map((o) => o.object.metadata?.name),
    ['a', 'b', 'c', 'a'],
  );
  t.is(objects[1]?.file, join(dir, 'b.yml'));
  await t.throwsAsync(loadManifestFiles([join(dir, 'missing.yaml')], []), { code: 'CLUSTERIP_ERR_INVALID_ARG' });
  await writeFile(join(dir, 'bad.yaml'), 'kind: [');
  const error = await t.throwsAsync(loadManifestFiles([dir], []), { code: 'CLUSTERIP_ERR_INVALID_MANIFEST' });
  t.true(error!.message.startsWith(`${join(dir, 'bad.yaml')}: document 1: invalid YAML`));
});
