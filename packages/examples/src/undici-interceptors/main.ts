// Example (transport, HTTP): `undici.request` through the Mesh dispatcher composed with undici's own
// interceptors and one of yours. Consumes KUBECONFIG (or the service account) and TARGET_URL; prints results.

import { randomUUID } from 'node:crypto';
import { Mesh } from '@clusterip/sdk';
import { type Dispatcher, errors, interceptors, request } from 'undici';

const target = new URL(process.env.TARGET_URL ?? 'http://backend-service/');
const requests = Number.parseInt(process.env.REQUESTS ?? '30', 10);

/** Your own interceptor: give every request an `x-request-id` unless the caller set one. */
const requestId: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
  const headers: Record<string, string | string[] | undefined> = {};
  const given = options.headers;
  if (Array.isArray(given)) {
    // Flat [name, value, name, value, ...] form.
    for (let i = 0; i + 1 < given.length; i += 2) headers[String(given[i]).toLowerCase()] = given[i + 1] as string;
  } else if (given !== null && given !== undefined) {
    for (const [name, value] of Object.entries(given)) headers[name.toLowerCase()] = value;
  }
  headers['x-request-id'] ??= randomUUID();
  return dispatch({ ...options, headers }, handler);
};

const mesh = new Mesh();
// compose() wraps from the inside out: the last interceptor sees the request first. Here responseError
// turns 4xx/5xx into a thrown ResponseError, redirect follows redirects (each hop is routed by the mesh
// again, so it may land on another pod), and requestId stamps every hop. The mesh balances, retries
// connect failures on another pod and ejects failing pods underneath all of them.
const dispatcher = mesh.dispatcher.compose(
  requestId,
  interceptors.redirect({ maxRedirections: 3 }),
  interceptors.responseError(),
);

try {
  // 1. A redirect, followed inside the dispatcher chain.
  const moved = await request(new URL('/old-path', target), { dispatcher });
  console.log(`GET /old-path → ${moved.statusCode} after redirect: ${(await moved.body.text()).trim()}`);

  // 2. Many requests: each one balanced on its own, each with its own request id.
  const pods = new Map<string, number>();
  let withId = 0;
  for (let i = 0; i < requests; i++) {
    const { body } = await request(new URL('/hello', target), { dispatcher });
    const text = (await body.text()).trim(); // the backend answers "hello from <pod> (request <id>)"
    const pod = /from (\S+)/.exec(text)?.[1] ?? text;
    if (/request [0-9a-f-]{36}/.test(text)) withId++;
    pods.set(pod, (pods.get(pod) ?? 0) + 1);
  }
  console.log(`GET /hello × ${requests}: ${withId} carried an x-request-id`);
  for (const [pod, n] of [...pods].sort()) console.log(`  ${String(n).padStart(3)} × ${pod}`);

  // 3. An error status becomes an exception with the status and the body (responseError interceptor).
  try {
    await request(new URL('/missing', target), { dispatcher });
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error;
    console.log(`GET /missing → ${error.code} ${error.statusCode}: ${String(error.body).trim()}`);
  }
} finally {
  await mesh.close();
}
