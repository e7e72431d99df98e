// Example (picker, session affinity): every user sticks to one pod, keyed by the `x-user-id` header instead
// of the client IP. Consumes KUBECONFIG (or the service account), TARGET_URL and USERS; prints user → pods.

import { Mesh } from '@clusterip/sdk';
import { request } from 'undici';

const target = process.env.TARGET_URL ?? 'http://cart/';
const users = (process.env.USERS ?? 'alice,bob,carol,dave,erin,frank').split(',').filter((u) => u !== '');
const perUser = Number.parseInt(process.env.REQUESTS_PER_USER ?? '5', 10);

const mesh = new Mesh({
  // kube-proxy's ClientIP affinity, but the "client" is the user: one binding per x-user-id value, kept
  // while the user is active within the timeout (sliding), dropped when its pod leaves the Service.
  // Without this override the mesh follows the Service's own spec.sessionAffinity.
  sessionAffinity: { type: 'ClientIP', timeoutSeconds: 1800 },
  affinityKey: { header: 'x-user-id' },
  // New users are spread round-robin; a user's later requests follow the binding.
  policy: 'round-robin',
});

try {
  const podsOf = new Map<string, string[]>();
  // Interleave users, as real traffic would: the binding, not the order, keeps each user in place.
  for (let round = 0; round < perUser; round++) {
    for (const user of users) {
      const { body } = await request(target, { dispatcher: mesh.dispatcher, headers: { 'x-user-id': user } });
      const pod = podOf(await body.text());
      podsOf.set(user, [...(podsOf.get(user) ?? []), pod]);
    }
  }
  for (const [user, pods] of podsOf) console.log(`${user.padEnd(8)} → ${pods.join(' ')}`);
  const sticky = [...podsOf.values()].every((pods) => new Set(pods).size === 1);
  const used = new Set([...podsOf.values()].flat());
  console.log(
    `${users.length} users over ${used.size} pods; ${sticky ? 'every user stayed on one pod' : 'a user moved'}`,
  );

  // A request without the header uses the process's own key, as kube-proxy's ClientIP does for a pod.
  const { body } = await request(target, { dispatcher: mesh.dispatcher });
  console.log(`no x-user-id → ${podOf(await body.text())} (the process's own binding)`);
} finally {
  await mesh.close();
}

/**
 * The pod that answered: the `pod` field of a JSON answer (the local cluster's `clusterip/echo-http`, whose
 * answer also nests the pod its own downstream call reached), else the answer's text (a pod name).
 */
function podOf(answer: string): string {
  try {
    const json: unknown = JSON.parse(answer);
    if (typeof json === 'object' && json !== null && typeof (json as { pod?: unknown }).pod === 'string') {
      return (json as { pod: string }).pod;
    }
  } catch {
    // not JSON: a plain pod name
  }
  return answer.trim();
}
