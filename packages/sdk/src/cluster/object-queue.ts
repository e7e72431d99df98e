// Local cluster: the coalescing work queue shared by the kubelet and the Deployment controller.
// Consumes "object <namespace>/<name> changed" marks; produces one handler call per marked object a turn.

/**
 * Collects the objects marked since the last turn and hands each to `handle` once, on the next
 * event-loop turn (several changes to one object in a turn make one call). A mark made while the
 * queue drains lands in the next turn. After `close()` nothing is marked and nothing more runs.
 *
 * @example
 * ```ts
 * const queue = new ObjectQueue((namespace, name) => reconcile(namespace, name));
 * queue.add('default', 'web');
 * queue.close();
 * ```
 */
export class ObjectQueue {
  readonly #handle: (namespace: string, name: string, key: string) => void;
  readonly #dirty = new Set<string>();
  #flush: NodeJS.Immediate | undefined;
  #closed = false;

  /** `handle` gets the object's namespace, name and `<namespace>/<name>` key. */
  constructor(handle: (namespace: string, name: string, key: string) => void) {
    this.#handle = handle;
  }

  /** Marks `<namespace>/<name>` for the next turn. No-op after `close()`. */
  add(namespace: string, name: string): void {
    if (this.#closed) return;
    this.#dirty.add(`${namespace}/${name}`);
    this.#flush ??= setImmediate(() => {
      this.#flush = undefined;
      const keys = [...this.#dirty];
      this.#dirty.clear();
      for (const key of keys) {
        const slash = key.indexOf('/');
        this.#handle(key.slice(0, slash), key.slice(slash + 1), key);
      }
    });
  }

  /** Drops the pending turn; idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#flush !== undefined) clearImmediate(this.#flush);
  }
}
