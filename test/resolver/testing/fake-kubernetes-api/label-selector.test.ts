import { parseLabelSelector } from '@clusterip/resolver/internal/testing/fake-kubernetes-api/label-selector.js';
import test from 'ava';

const labels = { app: 'web', tier: 'front', n: '5' };

const cases: Array<[string, boolean]> = [
  ['', true],
  ['app=web', true],
  ['app=', false],
  ['missing=', false],
  ['app==web', true],
  ['app=db', false],
  ['app!=db', true],
  ['missing!=x', true],
  ['app in (db, web)', true],
  ['app notin (web)', false],
  ['missing notin (web)', true],
  ['tier', true],
  ['!tier', false],
  ['!missing', true],
  ['app=web,tier=front', true],
  ['app=web,tier=back', false],
  ['n>4', true],
  ['n<5', false],
];

for (const [selector, expected] of cases) {
  test(`label selector ${JSON.stringify(selector)} → ${expected}`, (t) => {
    t.is(parseLabelSelector(selector).matches(labels), expected);
  });
}

for (const bad of ['app in (', 'a b c', '=x', 'app=web,', 'n>x']) {
  test(`label selector ${JSON.stringify(bad)} is a 400`, (t) => {
    const error = t.throws(() => parseLabelSelector(bad));
    t.is((error as unknown as { status: { code: number } }).status.code, 400);
  });
}
