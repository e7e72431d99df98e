// Example test (packages/examples/src/kubernetes-manifests): runs the frontend the manifests deploy against
// FakeKubernetesApi, then proves the Role minimal and sufficient from the API request log, and checks that the
// Deployment, Service, ServiceAccount and RoleBinding fit together and fit the program.

import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { KubeObject } from '@clusterip/resolver/testing';
import test from 'ava';
import { request } from 'undici';
import { createFakeKubeApi } from '../helpers/fake-kube-api.js';
import { createHttpTestServer } from '../helpers/http-test-server.js';
import { exampleEnv, examplePath, startExample } from './run-example.js';

/** The shape of packages/examples/dist/kubernetes-manifests/rbac-check.js (loaded at run time from the build). */
interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}
interface RbacCheck {
  readManifests(): Manifest[];
  grantedPermissions(role: Manifest): Set<string>;
  usedPermissions(requests: readonly { method: string; path: string; watch: boolean }[]): {
    used: Set<string>;
    nonResource: Set<string>;
  };
}
const loadCheck = async (): Promise<RbacCheck> =>
  (await import(pathToFileURL(examplePath('kubernetes-manifests', 'rbac-check.js')).href)) as RbacCheck;

const NAMESPACE = 'shop';

function podObject(name: string, ip: string, port: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: 'backend' } },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'app', image: 'backend:1', ports: [{ name: 'http', containerPort: port }] }],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function byKind(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

test('the Role grants exactly the (verb, group, resource) the frontend used against the API, no more, no less', async (t) => {
  const check = await loadCheck();
  const api = await createFakeKubeApi(t, { endpointSliceController: true, bookmarkIntervalMs: 60_000 });
  api.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend-service', namespace: NAMESPACE },
    spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  for (const i of [1, 2]) {
    const pod = await createHttpTestServer(t, { host: `127.0.96.${10 + i}`, name: `backend-${i}` });
    api.apply(podObject(pod.name, pod.host, pod.port));
  }

  const env = await exampleEnv(t, api, NAMESPACE, {
    PORT: '0',
    POD_NAMESPACE: NAMESPACE,
    NODE_NAME: 'node-a',
    POD_IP: '127.0.96.2',
  });
  const frontend = startExample(t, examplePath('kubernetes-manifests'), env);
  const port = (await frontend.waitForLine(/frontend listening on port (\d+)/))[1];
  await frontend.waitForLine(/backend backend-service\.shop\.svc\.cluster\.local\. ok: 2 ready endpoints/);
  const get = async (path: string) => {
    const res = await request(`http://127.0.0.1:${port}${path}`);
    return { status: res.statusCode, body: await res.body.text() };
  };
  t.deepEqual(await get('/readyz'), { status: 200, body: 'ready\n' });
  t.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
  const served = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const { status, body } = await get('/orders');
    t.is(status, 200);
    served.add(JSON.parse(body.replace(/^frontend → /, '')).pod);
  }
  t.true(served.size >= 1);
  t.is(await frontend.stop(), 0, 'SIGTERM: drained and exited by itself');
  t.regex(frontend.stdout(), /SIGTERM: draining\nclosed\n$/);

  // What the SDK asked the API server for: the fake's request log (the frontend is its only client).
  const sdkRequests = api.requests;
  t.true(sdkRequests.length >= 4, 'a list and a watch of the Service and of its EndpointSlices');
  t.deepEqual(
    sdkRequests.filter((r) => !r.path.includes(`/namespaces/${NAMESPACE}/`)).map((r) => `${r.method} ${r.path}`),
    ['GET /api/v1/nodes/node-a'],
    'only its own namespace, and its own Node once (the zone)',
  );
  const { used, nonResource } = check.usedPermissions(sdkRequests);
  t.deepEqual(nonResource, new Set(), 'no discovery or other non-resource requests');

  const manifests = check.readManifests();
  const granted = new Set([
    ...check.grantedPermissions(byKind(manifests, 'Role')),
    ...check.grantedPermissions(byKind(manifests, 'ClusterRole')),
  ]);
  const missing = [...used].filter((p) => !granted.has(p));
  const unused = [...granted].filter((p) => !used.has(p));
  t.deepEqual(missing, [], 'sufficient: every permission used is granted');
  t.deepEqual(unused, [], 'minimal: every permission granted was used');
  t.deepEqual([...granted].sort(), [
    'get /nodes',
    'list /services',
    'list discovery.k8s.io/endpointslices',
    'watch /services',
    'watch discovery.k8s.io/endpointslices',
  ]);
});

test('the manifests fit together and fit the program: service account, binding, labels, ports, probes, downward API', async (t) => {
  const check = await loadCheck();
  const manifests = check.readManifests();
  t.deepEqual(manifests.map((m) => m.kind).sort(), [
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Role',
    'RoleBinding',
    'Service',
    'ServiceAccount',
  ]);
  for (const m of manifests) {
    const clusterScoped = m.kind.startsWith('Cluster');
    t.is(m.metadata.namespace, clusterScoped ? undefined : NAMESPACE, `${m.kind} ${m.metadata.name} namespace`);
  }

  const account = byKind(manifests, 'ServiceAccount');
  const role = byKind(manifests, 'Role');
  const binding = byKind(manifests, 'RoleBinding') as Manifest & {
    roleRef: { apiGroup: string; kind: string; name: string };
    subjects: { kind: string; name: string; namespace: string }[];
  };
  t.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  t.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: account.metadata.name, namespace: NAMESPACE }]);
  const clusterBinding = byKind(manifests, 'ClusterRoleBinding') as typeof binding;
  t.deepEqual(clusterBinding.roleRef, {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: byKind(manifests, 'ClusterRole').metadata.name,
  });
  t.deepEqual(clusterBinding.subjects, binding.subjects);

  type Container = {
    command: string[];
    ports: { name: string; containerPort: number }[];
    env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
    readinessProbe: { httpGet: { path: string; port: string } };
    livenessProbe: { httpGet: { path: string; port: string } };
  };
  const deployment = byKind(manifests, 'Deployment') as Manifest & {
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: { serviceAccountName: string; automountServiceAccountToken: boolean; containers: Container[] };
      };
    };
  };
  const pod = deployment.spec.template;
  t.is(pod.spec.serviceAccountName, account.metadata.name);
  t.true(pod.spec.automountServiceAccountToken);
  t.like(pod.metadata.labels, deployment.spec.selector.matchLabels);
  const service = byKind(manifests, 'Service') as Manifest & {
    spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
  };
  t.like(pod.metadata.labels, service.spec.selector, 'the Service selects the Deployment’s pods');

  const [container] = pod.spec.containers;
  t.truthy(container);
  const portNames = container!.ports.map((p) => p.name);
  for (const p of service.spec.ports) t.true(portNames.includes(p.targetPort), `targetPort ${p.targetPort}`);
  t.true(portNames.includes(container!.readinessProbe.httpGet.port));
  t.is(container!.readinessProbe.httpGet.path, '/readyz');
  t.is(container!.livenessProbe.httpGet.path, '/healthz');
  const env = new Map(container!.env.map((e) => [e.name, e.valueFrom?.fieldRef.fieldPath ?? e.value]));
  t.is(env.get('POD_NAMESPACE'), 'metadata.namespace');
  t.is(env.get('NODE_NAME'), 'spec.nodeName');
  t.is(env.get('POD_IP'), 'status.podIP');
  t.is(env.get('PORT'), String(container!.ports.find((p) => p.name === 'http')?.containerPort));
  // The command runs this example's program (path inside the image = path in the repository).
  const script = container!.command.at(-1) ?? '';
  t.is(script, 'packages/examples/dist/kubernetes-manifests/main.js');
  t.true(existsSync(examplePath('kubernetes-manifests', 'main.js')));
});
