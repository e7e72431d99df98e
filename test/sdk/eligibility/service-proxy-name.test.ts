import { otherProxy, SERVICE_PROXY_NAME_LABEL } from '@clusterip/sdk';
import test from 'ava';

const labelled = (value: string) => ({ labels: { [SERVICE_PROXY_NAME_LABEL]: value } });
const unlabelled = { labels: { app: 'web' } };

test('without a name: Services without the label are ours, as for kube-proxy', (t) => {
  t.is(otherProxy(unlabelled, ''), undefined);
  t.is(otherProxy(labelled('multus-proxy'), ''), 'multus-proxy');
  t.is(otherProxy(labelled(''), ''), '', 'an empty value still hands the Service away: kube-proxy selects on presence');
});

test('with a name: only the Services labelled with it are ours', (t) => {
  t.is(otherProxy(labelled('clusterip'), 'clusterip'), undefined);
  t.is(otherProxy(labelled('multus-proxy'), 'clusterip'), 'multus-proxy');
  t.is(otherProxy(unlabelled, 'clusterip'), 'kube-proxy');
});

test('false ignores the label', (t) => {
  t.is(otherProxy(labelled('multus-proxy'), false), undefined);
  t.is(otherProxy(unlabelled, false), undefined);
});

test('ExternalName Services are always ours: sent to the external name', (t) => {
  t.is(otherProxy({ ...labelled('multus-proxy'), type: 'ExternalName' }, ''), undefined);
  t.is(otherProxy({ ...unlabelled, type: 'ExternalName' }, 'clusterip'), undefined);
});

test('headless Services are always ours: no proxy has a virtual IP for them', (t) => {
  t.is(otherProxy({ ...labelled('multus-proxy'), headless: true }, ''), undefined);
  t.is(otherProxy({ ...unlabelled, headless: true }, 'clusterip'), undefined);
  t.is(otherProxy({ ...labelled('multus-proxy'), headless: false }, ''), 'multus-proxy');
});
