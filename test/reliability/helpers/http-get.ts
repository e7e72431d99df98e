// Reliability helper: the request of the HTTP scenarios — a GET through a dispatcher that must answer
// 200 with the test server's `{ pod }` body. Consumes a URL and a dispatcher; produces the pod's name.

import { type Dispatcher, request } from 'undici';

/**
 * GET `url` through `dispatcher`; resolve with the answering pod's name, reject on any other status.
 *
 * @example
 * ```ts
 * const pod = await getPod('http://web/', mesh.dispatcher)
 * ```
 */
export async function getPod(url: string, dispatcher: Dispatcher): Promise<string> {
  const res = await request(url, { dispatcher });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 80)}`);
  return (JSON.parse(text) as { pod: string }).pod;
}
