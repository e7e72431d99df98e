// Test helper: a source whose answers wait until `open()`: Services being discovered, for as long as a test
// needs. Consumes another EndpointSource; produces the same events, held back until then.

import type { EndpointSource, SourceEvent } from '@clusterip/resolver';

/** An {@link EndpointSource} that holds every event until `open()`; `watching` resolves at its first watch. */
export interface GatedSource extends EndpointSource {
  /** Deliver what was held, and everything from now on. */
  open(): void;
  /** Resolves once something watches a name (a request waits for discovery). */
  readonly watching: Promise<void>;
}

/**
 * Wrap `inner` so that its events wait for `open()`.
 *
 * @example
 * ```ts
 * const source = gatedSource(shopSource({ web: [pod] }))
 * const pending = request('http://web/', { dispatcher: new Mesh({ source, context }).dispatcher })
 * await source.watching // the request waits for discovery
 * source.open()
 * ```
 */
export function gatedSource(inner: EndpointSource): GatedSource {
  let open = false;
  let watched: () => void = () => {};
  const watching = new Promise<void>((resolve) => {
    watched = resolve;
  });
  const waiting: Array<() => void> = [];
  return {
    kind: 'gated',
    watching,
    watch: (query, listener) => {
      const w = inner.watch(query, (event: SourceEvent) => {
        if (open) listener(event);
        else waiting.push(() => listener(event));
      });
      watched();
      return w;
    },
    close: () => inner.close(),
    open() {
      open = true;
      for (const deliver of waiting.splice(0)) deliver();
    },
  };
}
