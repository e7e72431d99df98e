// The demo's scenes (packages/examples/src/demo/scenes.ts): explainSelector reads the API through a fake
// KubeClient and says why a Service selects nothing, with counts in the right number.

import test from 'ava';

type ScenesModule = typeof import('../../../packages/examples/dist/demo/scenes.js');
type KubeModule = typeof import('../../../packages/examples/dist/demo/kube-client.js');
// build/test/examples/demo/ → packages/examples/dist/demo/ (the examples package exports nothing).
const { explainSelector } = (await import(
  new URL('../../../../packages/examples/dist/demo/scenes.js', import.meta.url).href
)) as ScenesModule;

type KubeClient = KubeModule['KubeClient']['prototype'];

/** A KubeClient answering GETs of one Service (selector app=backnd) and of the namespace's pods. */
function fakeKube(podLabels: readonly string[]): KubeClient {
  const pods = podLabels.map((app, i) => ({ metadata: { name: `pod-${i}`, labels: { app } } }));
  return {
    get: async () => ({ metadata: { name: 'typo' }, spec: { selector: { app: 'backnd' } } }),
    ok: async (_method: string, path: string) => {
      const selector = new URL(path, 'http://api.invalid').searchParams.get('labelSelector');
      const app = selector?.replace(/^app=/, '');
      return { items: pods.filter((p) => app === undefined || p.metadata.labels.app === app) };
    },
  } as unknown as KubeClient;
}

test('explainSelector: counts of one pod are in the singular, other counts in the plural', async (t) => {
  t.deepEqual(await explainSelector(fakeKube(['backnd', 'backend']), 'shop', 'typo'), [
    'selector app=backnd matches 1 pod in namespace shop',
    'did you mean app=backend? 1 pod carries it (kubectl get pods -l app=backend)',
  ]);
  t.deepEqual(await explainSelector(fakeKube(['backend', 'backend', 'db']), 'shop', 'typo'), [
    'selector app=backnd matches 0 pods in namespace shop',
    'did you mean app=backend? 2 pods carry it (kubectl get pods -l app=backend)',
  ]);
});
