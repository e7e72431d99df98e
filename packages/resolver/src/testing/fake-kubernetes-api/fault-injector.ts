// Fake Kubernetes API: request-level fault injection (fail with a Status, stall, slow down, disconnect).
// Consumes each incoming request's record; produces the fault (if any) the handler must act out.

import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import type { RequestRecord } from './request-record.js';

/**
 * Which requests a fault applies to. Every given field must match; an empty matcher matches all.
 *
 * @example
 * ```ts
 * api.failNext({ status: 500, path: /endpointslices$/, watch: true })
 * ```
 */
export interface RequestMatcher {
  /** HTTP method, case-insensitive (`GET`, `PATCH`). */
  readonly method?: string;
  /** Exact pathname (no query), or a RegExp tested against the pathname. */
  readonly path?: string | RegExp;
  /** true: only watch requests; false: only non-watch requests. */
  readonly watch?: boolean;
  /**
   * Query parameters the request must carry with these values; `null`: must not carry it. E.g.
   * `{ labelSelector: null }` picks lists and watches of a whole collection, not selected ones.
   */
  readonly query?: Readonly<Record<string, string | null>>;
}

/** Options of {@link FakeKubernetesApi.failNext}. */
export interface FailOptions extends RequestMatcher {
  /** HTTP status to answer with, e.g. 401, 410, 429, 500, 503. */
  readonly status: number;
  /** How many matching requests to fail (default 1). */
  readonly count?: number;
  /** Status `message`; defaults to a message naming the injection. */
  readonly message?: string;
  /** Sets the `Retry-After` header and `details.retryAfterSeconds` (for 429/503). */
  readonly retryAfterSeconds?: number;
}

/** Options of {@link FakeKubernetesApi.respondNext}. */
export interface RespondOptions extends RequestMatcher {
  /** The body: a string as is, anything else as JSON. E.g. a list holding an object no real server sends. */
  readonly body: unknown;
  /** HTTP status (default 200). */
  readonly status?: number;
  /** `content-type` (default `application/json`). */
  readonly contentType?: string;
  /** How many matching requests to answer so (default 1). */
  readonly count?: number;
}

/** Options of {@link FakeKubernetesApi.slow}. */
export interface SlowOptions extends RequestMatcher {
  /** Delay before the request is processed. */
  readonly delayMs: number;
  /** How many matching requests to delay (default: all until cleared). */
  readonly count?: number;
}

/** Options of {@link FakeKubernetesApi.stall} and {@link FakeKubernetesApi.disconnectNext}. */
export interface CountOptions extends RequestMatcher {
  /** How many matching requests are affected (default: stall all until released; disconnect 1). */
  readonly count?: number;
}

/** A fault rule you can cancel. */
export interface FaultHandle {
  /** Matching requests this rule will still affect. */
  readonly remaining: number;
  /** Stop applying the rule to new requests. Idempotent. */
  clear(): void;
}

/** A stall rule: matching requests are accepted and held, unanswered, until released. */
export interface StallHandle extends FaultHandle {
  /** Requests currently held. */
  readonly stalled: number;
  /** Resolve once at least `count` requests have been held in total by this rule. */
  waitForStalled(count?: number): Promise<void>;
  /** Clear the rule and let every held request proceed normally. Idempotent. */
  release(): void;
}

/** What the handler must do with a request. */
export type Fault =
  | { readonly type: 'fail'; readonly options: FailOptions }
  | { readonly type: 'disconnect' }
  | { readonly type: 'respond'; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly type: 'slow'; readonly delayMs: number }
  | { readonly type: 'stall'; readonly hold: (resume: () => void) => void };

interface Rule {
  readonly matcher: RequestMatcher;
  remaining: number;
  readonly fault: Fault;
}

function validateMatcher(method: string, matcher: RequestMatcher): void {
  if (matcher.method !== undefined && typeof matcher.method !== 'string') {
    throw new InvalidArgumentError(
      `${method}.method`,
      `${method}.method must be a string, got ${typeof matcher.method}`,
    );
  }
  if (matcher.path !== undefined && typeof matcher.path !== 'string' && !(matcher.path instanceof RegExp)) {
    throw new InvalidArgumentError(`${method}.path`, `${method}.path must be a string or RegExp`);
  }
}

function validateCount(option: string, count: number | undefined, fallback: number): number {
  if (count === undefined) return fallback;
  if (!Number.isInteger(count) || count < 1) {
    throw new InvalidArgumentError(option, `${option} must be a positive integer, got ${String(count)}`);
  }
  return count;
}

/** True when `record` satisfies `matcher`. */
export function matchesRequest(matcher: RequestMatcher, record: RequestRecord): boolean {
  if (matcher.method !== undefined && matcher.method.toUpperCase() !== record.method) return false;
  if (matcher.watch !== undefined && matcher.watch !== record.watch) return false;
  if (!matchesQuery(matcher.query, record.query)) return false;
  if (matcher.path instanceof RegExp) return matcher.path.test(record.path);
  if (typeof matcher.path === 'string') return matcher.path === record.path;
  return true;
}

/** Whether `query` carries every parameter of `wanted` with its value (`null`: absent). */
export function matchesQuery(
  wanted: Readonly<Record<string, string | null>> | undefined,
  query: Readonly<Record<string, string>>,
): boolean {
  if (wanted === undefined) return true;
  for (const [key, value] of Object.entries(wanted)) {
    if ((Object.hasOwn(query, key) ? query[key] : null) !== value) return false;
  }
  return true;
}

/** The ordered list of active fault rules; the first matching rule with budget left wins. */
export class FaultInjector {
  readonly #rules: Rule[] = [];
  readonly #held = new Set<() => void>();

  #add(matcher: RequestMatcher, remaining: number, fault: Fault): Rule {
    const rule: Rule = { matcher, remaining, fault };
    this.#rules.push(rule);
    return rule;
  }

  #handle(rule: Rule): FaultHandle {
    return {
      get remaining() {
        return rule.remaining;
      },
      clear: () => {
        rule.remaining = 0;
        const i = this.#rules.indexOf(rule);
        if (i >= 0) this.#rules.splice(i, 1);
      },
    };
  }

  fail(options: FailOptions): FaultHandle {
    validateMatcher('failNext', options);
    if (!Number.isInteger(options.status) || options.status < 400 || options.status > 599) {
      throw new InvalidArgumentError(
        'failNext.status',
        `failNext.status must be an HTTP error code 400-599, got ${String(options.status)}`,
      );
    }
    return this.#handle(
      this.#add(options, validateCount('failNext.count', options.count, 1), { type: 'fail', options }),
    );
  }

  respond(options: RespondOptions): FaultHandle {
    validateMatcher('respondNext', options);
    const status = options.status ?? 200;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new InvalidArgumentError(
        'respondNext.status',
        `respondNext.status must be an HTTP status 100-599, got ${String(options.status)}`,
      );
    }
    const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    if (body === undefined) {
      throw new InvalidArgumentError('respondNext.body', 'respondNext.body must be a string or a JSON value');
    }
    const contentType = options.contentType ?? 'application/json';
    return this.#handle(
      this.#add(options, validateCount('respondNext.count', options.count, 1), {
        type: 'respond',
        status,
        body,
        contentType,
      }),
    );
  }

  disconnect(options: CountOptions): FaultHandle {
    validateMatcher('disconnectNext', options);
    return this.#handle(
      this.#add(options, validateCount('disconnectNext.count', options.count, 1), { type: 'disconnect' }),
    );
  }

  slow(options: SlowOptions): FaultHandle {
    validateMatcher('slow', options);
    if (!Number.isFinite(options.delayMs) || options.delayMs < 0) {
      throw new InvalidArgumentError(
        'slow.delayMs',
        `slow.delayMs must be a non-negative number, got ${String(options.delayMs)}`,
      );
    }
    const count = validateCount('slow.count', options.count, Number.POSITIVE_INFINITY);
    return this.#handle(this.#add(options, count, { type: 'slow', delayMs: options.delayMs }));
  }

  stall(options: CountOptions): StallHandle {
    validateMatcher('stall', options);
    const count = validateCount('stall.count', options.count, Number.POSITIVE_INFINITY);
    const held = new Set<() => void>();
    let total = 0;
    let released = false;
    const waiters: Array<{ count: number; resolve: () => void }> = [];
    const rule = this.#add(options, count, {
      type: 'stall',
      hold: (resume) => {
        if (released) {
          resume();
          return;
        }
        held.add(resume);
        this.#held.add(resume);
        total++;
        for (const w of [...waiters]) {
          if (total >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      },
    });
    const base = this.#handle(rule);
    return {
      get remaining() {
        return base.remaining;
      },
      get stalled() {
        return held.size;
      },
      clear: base.clear,
      waitForStalled: (n = 1) =>
        total >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count: n, resolve })),
      release: () => {
        base.clear();
        released = true;
        for (const resume of held) {
          this.#held.delete(resume);
          resume();
        }
        held.clear();
      },
    };
  }

  /** The fault for `record`, consuming one unit of the matching rule's budget. */
  take(record: RequestRecord): Fault | undefined {
    for (const rule of this.#rules) {
      if (rule.remaining <= 0 || !matchesRequest(rule.matcher, record)) continue;
      rule.remaining--;
      if (rule.remaining <= 0) this.#rules.splice(this.#rules.indexOf(rule), 1);
      return rule.fault;
    }
    return undefined;
  }

  /** Forget every rule and held request (server close destroys the held sockets itself). */
  clearAll(): void {
    this.#rules.length = 0;
    this.#held.clear();
  }
}
