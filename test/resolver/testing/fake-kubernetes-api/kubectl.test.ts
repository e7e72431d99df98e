import test from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { createSelfSignedCert } from '../../../helpers/self-signed-cert.js';
import { kubectlFor } from './kubectl-runner.js';

const pod = (name: string, ip: string, ready = true) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  spec: {
    nodeName: 'node-a',
    containers: [{ name: 'app', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
  status: {
    phase: 'Running',
    podIP: ip,
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    containerStatuses: [{ name: 'app', ready, restartCount: 0 }],
  },
});

const webService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

test('kubectl get prints the real columns for services, endpointslices, pods and namespaces', async (t) => {
  const api = await createFakeKubeApi(t);
  const svc = api.apply(webService);
  api.apply(pod('web-1', '127.0.0.2'));
  const kubectl = await kubectlFor(t, api);
  const services = await kubectl.run(['get', 'services']);
  t.is(services.code, 0, services.stderr);
  t.deepEqual(rows(services.stdout)[0], ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
  t.deepEqual(rows(services.stdout)[1]?.slice(0, 5), [
    'web',
    'ClusterIP',
    (svc.spec as { clusterIP: string }).clusterIP,
    '<none>',
    '80/TCP',
  ]);
  const slices = await kubectl.run(['get', 'endpointslices']);
  t.is(slices.code, 0, slices.stderr);
  t.deepEqual(rows(slices.stdout)[0], ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
  t.regex(slices.stdout, /web-[a-z0-9]{5}\s+IPv4\s+8080\s+127\.0\.0\.2\s/);
  const pods = await kubectl.run(['get', 'pods', '-o', 'wide']);
  t.is(pods.code, 0, pods.stderr);
  t.deepEqual(rows(pods.stdout)[1]?.slice(0, 3), ['web-1', '1/1', 'Running']);
  t.true(rows(pods.stdout)[1]?.includes('127.0.0.2'));
  const namespaces = await kubectl.run(['get', 'namespaces']);
  t.regex(namespaces.stdout, /kube-system\s+Active/);
  const json = await kubectl.run(['get', 'service', 'web', '-o', 'json']);
  t.is(JSON.parse(json.stdout).metadata.resourceVersion, svc.metadata?.resourceVersion);
  const missing = await kubectl.run(['get', 'service', 'nope']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /NotFound.*services "nope" not found/);
});

test('kubectl apply -f creates, re-apply patches, delete -f removes', async (t) => {
  const api = await createFakeKubeApi(t);
  const kubectl = await kubectlFor(t, api);
  const manifest = (port: number) => `apiVersion: v1
kind: Service
metadata:
  name: api
  labels:
    tier: back
spec:
  selector:
    app: api
  ports:
  - name: http
    port: 80
  - name: admin
    port: ${port}
`;
  const created = await kubectl.run(['apply', '-f', '-'], manifest(81));
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /service\/api created/);
  type ServiceSpec = { type?: string; clusterIP?: string; ports: Array<{ port: number }> };
  const specOf = () => (api.get('Service', 'default', 'api')?.spec ?? { ports: [] }) as ServiceSpec;
  const stored = api.get('Service', 'default', 'api');
  const first = specOf();
  t.is(first.type, 'ClusterIP');
  t.truthy(stored?.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
  const unchanged = await kubectl.run(['apply', '-f', '-'], manifest(81));
  t.regex(unchanged.stdout, /service\/api unchanged/);
  const configured = await kubectl.run(['apply', '-f', '-'], manifest(9090));
  t.is(configured.code, 0, configured.stderr);
  t.regex(configured.stdout, /service\/api configured/);
  t.deepEqual(
    specOf().ports.map((p) => p.port),
    [80, 9090],
  );
  t.is(specOf().clusterIP, first.clusterIP);
  const patchRequest = api.requests.find((r) => r.method === 'PATCH');
  t.is(patchRequest?.headers['content-type'], 'application/strategic-merge-patch+json');
  const deleted = await kubectl.run(['delete', '-f', '-'], manifest(9090));
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, /service "api" deleted/);
  t.is(api.get('Service', 'default', 'api'), undefined);
  const invalid = await kubectl.run(
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec: {}\n',
  );
  t.not(invalid.code, 0);
  t.regex(invalid.stderr, /spec\.ports: Required value/);
});

test('kubectl get --watch prints a new line when an EndpointSlice changes', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(webService);
  api.apply(pod('web-1', '127.0.0.2'));
  const kubectl = await kubectlFor(t, api);
  const watching = kubectl.start(['get', 'endpointslices', '--watch']);
  await watching.waitForLine(/127\.0\.0\.2/);
  await api.waitForWatches({ kind: 'EndpointSlice' });
  api.apply(pod('web-2', '127.0.0.3'));
  const output = await watching.waitForLine(/127\.0\.0\.2,127\.0\.0\.3|127\.0\.0\.3,127\.0\.0\.2/);
  watching.kill();
  t.is(output.match(/^NAME/gm)?.length, 1, 'headers are printed once');
  const watchRequest = api.requests.find((r) => r.watch);
  t.is(watchRequest?.query.watch, 'true');
  t.regex(String(watchRequest?.headers.accept), /as=Table/);
});

test('kubectl authenticates with the bearer token over TLS, and is refused with a wrong one', async (t) => {
  const { key, cert } = await createSelfSignedCert(t);
  const tls = { key, cert };
  const api = await createFakeKubeApi(t, { token: 'kubectl-t0ken', tls });
  t.regex(api.url, /^https:/);
  api.apply(webService);
  const good = await kubectlFor(t, api);
  const ok = await good.run(['get', 'services']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^web\s+ClusterIP/m);
  t.true(api.requests.some((r) => r.authenticated && r.path === '/api/v1/namespaces/default/services'));
  const bad = await kubectlFor(t, api, { token: 'wrong' });
  const refused = await bad.run(['get', 'services']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /Unauthorized|provide credentials/);
});
