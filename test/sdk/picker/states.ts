// Builds bare EndpointState objects for picker tests (no balancer around them).

import { EndpointState } from '@clusterip/sdk/internal/picker/endpoint-state.js';
import { ep } from '../fixtures.js';

export function states(n: number, inFlight: (i: number) => number = () => 0): EndpointState[] {
  return Array.from({ length: n }, (_, i) => {
    const e = ep(`10.1.${i >> 8}.${i & 255}`);
    const s = new EndpointState(`${e.address}:${e.port}`, e, 0, Number.NEGATIVE_INFINITY, 30, () => {});
    s.index = i;
    s.inFlight = inFlight(i);
    return s;
  });
}

/** A random source replaying `values` (then 0). */
export function replay(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++] ?? 0;
}
