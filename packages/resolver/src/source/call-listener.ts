// ③ Endpoint source: how every source hands an event to a watch's listener.
// Consumes a listener and an event; produces the call, with whatever the listener throws logged.

import { debuglog } from 'node:util';
import type { SourceListener } from './endpoint-source.js';
import type { SourceEvent } from './endpoint-update.js';

const debug = debuglog('clusterip');

/**
 * Call `listener` with `event`. What it throws is logged (`NODE_DEBUG=clusterip`) and dropped: a
 * listener must neither end the process (sources deliver from their own timers and sockets) nor cost
 * its watch, or the other watches, the rest of the answer.
 */
export function callListener(listener: SourceListener, event: SourceEvent, source: string): void {
  try {
    listener(event);
  } catch (err) {
    debug('%s source: listener threw: %s', source, err instanceof Error ? err.message : String(err));
  }
}
