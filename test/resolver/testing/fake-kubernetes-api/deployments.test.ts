import test from 'ava';
import { createFakeKubeApi } from '../../../helpers/fake-kube-api.js';
import { call } from './http-client.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'web:1', ports: [{ containerPort: 8080 }] }] },
    },
  },
};

const base = '/apis/apps/v1/namespaces/default/deployments';

test('Deployments: apps/v1 discovery with the scale subresource, defaults, generation', async (t) => {
  const api = await createFakeKubeApi(t);
  const groups = await call(`${api.url}/apis`);
  t.true(groups.body.groups.some((g: { name: string }) => g.name === 'apps'));
  const resources = await call(`${api.url}/apis/apps/v1`);
  t.like(
    resources.body.resources.find((r: { name: string }) => r.name === 'deployments/scale'),
    { group: 'autoscaling', version: 'v1', kind: 'Scale', namespaced: true },
  );
  const aggregated = await call(`${api.url}/apis`, {
    headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
  });
  const apps = aggregated.body.items.find((i: { metadata: { name?: string } }) => i.metadata.name === 'apps');
  t.deepEqual(
    apps.versions[0].resources[0].subresources.map((s: { subresource: string }) => s.subresource),
    ['status', 'scale'],
  );
  const created = await call(`${api.url}${base}`, { method: 'POST', body: deployment });
  t.is(created.status, 201);
  t.is(created.body.metadata.generation, 1);
  t.deepEqual(created.body.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });
  t.is(created.body.spec.template.spec.restartPolicy, 'Always');
  // Changing the template bumps generation; a label change does not.
  const patched = await call(`${api.url}${base}/web`, {
    method: 'PATCH',
    contentType: 'application/strategic-merge-patch+json',
    body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } },
  });
  t.is(patched.body.metadata.generation, 2);
  t.deepEqual(patched.body.spec.template.metadata.labels, { app: 'web' });
  const relabelled = await call(`${api.url}${base}/web`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { team: 'a' } } },
  });
  t.is(relabelled.body.metadata.generation, 2);
});

test('Deployments: the scale subresource reads and writes spec.replicas as an autoscaling/v1 Scale', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply(deployment);
  const scale = await call(`${api.url}${base}/web/scale`);
  t.like(scale.body, {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    spec: { replicas: 2 },
    status: { replicas: 0, selector: 'app=web' },
  });
  const patched = await call(`${api.url}${base}/web/scale`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas: 5 } },
  });
  t.is(patched.status, 200);
  t.is(patched.body.spec.replicas, 5);
  t.is((api.get('Deployment', 'default', 'web')?.spec as { replicas: number } | undefined)?.replicas, 5);
  const put = await call(`${api.url}${base}/web/scale`, {
    method: 'PUT',
    body: { ...scale.body, spec: { replicas: 1 } },
  });
  t.is(put.status, 409, 'a stale resourceVersion in the Scale is a conflict');
  const fresh = await call(`${api.url}${base}/web/scale`);
  const ok = await call(`${api.url}${base}/web/scale`, {
    method: 'PUT',
    body: { ...fresh.body, spec: { replicas: 1 } },
  });
  t.is(ok.body.spec.replicas, 1);
  const invalid = await call(`${api.url}${base}/web/scale`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas: -1 } },
  });
  t.is(invalid.status, 422);
  t.is((await call(`${api.url}${base}/nope/scale`)).status, 404);
});

test('Deployments: validation answers 422 naming the field', async (t) => {
  const api = await createFakeKubeApi(t);
  const { selector: _s, ...spec } = deployment.spec;
  const noSelector = await call(`${api.url}${base}`, { method: 'POST', body: { ...deployment, spec } });
  t.is(noSelector.status, 422);
  t.true(noSelector.body.details.causes.some((c: { field: string }) => c.field === 'spec.selector'));
  const mismatch = await call(`${api.url}${base}`, {
    method: 'POST',
    body: { ...deployment, spec: { ...deployment.spec, selector: { matchLabels: { app: 'other' } } } },
  });
  t.is(mismatch.status, 422);
  t.regex(mismatch.body.message, /`selector` does not match template `labels`/);
});

test('Deployments: Table columns as kubectl prints them', async (t) => {
  const api = await createFakeKubeApi(t);
  api.apply({ ...deployment, status: { replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 } });
  const table = await call(`${api.url}${base}`, {
    headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  });
  t.deepEqual(
    table.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
  );
  const [name, ready, upToDate, available, , containers, images, selector] = table.body.rows[0].cells;
  t.deepEqual(
    [name, ready, upToDate, available, containers, images, selector],
    ['web', '1/2', 2, 1, 'app', 'web:1', 'app=web'],
  );
});

test('gracefulPodDeletion: a scheduled pod is only marked terminating; grace 0 removes it; deleting its owner marks it too', async (t) => {
  const api = await createFakeKubeApi(t, { gracefulPodDeletion: true, now: () => Date.parse('2026-01-01T00:00:00Z') });
  const owner = api.apply(deployment);
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner.metadata?.uid, controller: true },
      ],
    },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'a', image: 'x' }],
    },
  });
  api.apply(pod('scheduled', 'node-a'));
  api.apply(pod('pending'));
  const deleted = await call(`${api.url}/api/v1/namespaces/default/pods/scheduled`, { method: 'DELETE' });
  t.is(deleted.status, 200);
  t.is(deleted.body.metadata.deletionTimestamp, '2026-01-01T00:00:05Z');
  t.is(deleted.body.metadata.deletionGracePeriodSeconds, 5);
  t.truthy(api.get('Pod', 'default', 'scheduled'));
  // A shorter grace period in a second delete is honoured; a longer one is not.
  // (fetch: node:http's client sends a DELETE body without a length.)
  const shorter = await fetch(`${api.url}/api/v1/namespaces/default/pods/scheduled`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 2 }),
  });
  t.is(
    ((await shorter.json()) as { metadata: { deletionGracePeriodSeconds: number } }).metadata
      .deletionGracePeriodSeconds,
    2,
  );
  const longer = await fetch(`${api.url}/api/v1/namespaces/default/pods/scheduled?gracePeriodSeconds=9`, {
    method: 'DELETE',
  });
  t.is(
    ((await longer.json()) as { metadata: { deletionGracePeriodSeconds: number } }).metadata.deletionGracePeriodSeconds,
    2,
  );
  t.true(api.delete('Pod', 'default', 'scheduled', { gracePeriodSeconds: 0 }));
  t.is(api.get('Pod', 'default', 'scheduled'), undefined);
  // Not scheduled: removed at once.
  await call(`${api.url}/api/v1/namespaces/default/pods/pending`, { method: 'DELETE' });
  t.is(api.get('Pod', 'default', 'pending'), undefined);
  // The owner's deletion marks its scheduled pods terminating (background garbage collection).
  api.apply(pod('child', 'node-a'));
  t.true(api.delete('Deployment', 'default', 'web'));
  t.is(api.get('Pod', 'default', 'child')?.metadata?.deletionGracePeriodSeconds, 5);
  t.throws(() => api.delete('Pod', 'default', 'child', { gracePeriodSeconds: -1 }), {
    code: 'CLUSTERIP_ERR_INVALID_ARG',
  });
});

test('onChange reports every committed change in order, never after unsubscribe or close', async (t) => {
  const api = await createFakeKubeApi(t);
  const seen: string[] = [];
  const off = api.onChange((c) => seen.push(`${c.type} ${c.kind} ${c.namespace ?? '-'}/${c.name}`));
  api.apply(deployment);
  api.delete('Deployment', 'default', 'web');
  off();
  api.apply(deployment);
  t.deepEqual(seen, ['ADDED Deployment default/web', 'DELETED Deployment default/web']);
  const late: string[] = [];
  api.onChange((c) => late.push(c.name));
  await api.close();
  t.deepEqual(late, []);
  t.throws(() => api.onChange(() => {}), { code: 'CLUSTERIP_ERR_CLOSED' });
});
