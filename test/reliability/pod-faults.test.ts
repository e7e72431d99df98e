// Reliability: one pod of four hangs, resets connections, answers 503, or slows down 10x under a
// 2,000 req/s load. The mesh ejects it (or balances away from it), retries within the retry budget,
// and every failed request is explained by the faulty pod.

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BreakerStateMessage,
  CHANNEL_NAMES,
  type HttpAttemptEndMessage,
  type HttpRequestMessage,
  Mesh,
  type MeshOptions,
  UpstreamError,
} from '@clusterip/sdk';
import test, { type ExecutionContext } from 'ava';
import { createPods, type HttpTestServer, waitForReady } from '../helpers/http-test-server.js';
import { bounded } from './helpers/bounded.js';
import { countMessages, nextMessage } from './helpers/channel-events.js';
import { getPod } from './helpers/http-get.js';
import { describeLoad, type LoadReport, startOpenLoop, warmUp } from './helpers/open-loop.js';
import { createWebCluster } from './helpers/web-service.js';

const RATE = 2000;
const MAX_LOAD_MS = 20_000;
const STEP_MS = 10_000;
const STEP = 1000;
const WARM_UP = 400;
const SERVICE = 'web.shop:80';
/** Every pod answers after this long (a real handler takes some time); the slow pod takes 10×. */
const BASE_LATENCY_MS = 5;
/**
 * The retry budget of these scenarios. Its window (20 s) is longer than twice each scenario, so the
 * whole scenario falls in one window and the bound holds for its totals: retries ≤ 20 % of requests
 * + 10/s × 20 s.
 */
const BUDGET = { ratioPercent: 20, minRetriesPerSecond: 10, windowSeconds: 20 } as const;
const RESERVE = BUDGET.minRetriesPerSecond * BUDGET.windowSeconds;

type Fault = 'none' | 'hang' | 'reset' | '503' | 'slow';

interface Scenario {
  readonly fault: Exclude<Fault, 'none'>;
  readonly subnet: number;
  readonly mesh: Omit<MeshOptions, 'resolver'>;
}

interface Outcome {
  readonly report: LoadReport;
  readonly requests: number;
  readonly retries: number;
  readonly budgetStops: number;
  readonly faulty: HttpTestServer;
  readonly faultyKey: string;
  /** The faulty pod's ejection, when it happened. */
  readonly ejected: BreakerStateMessage | undefined;
  /** Requests the faulty pod received after the fault started. */
  readonly faultyRequests: number;
  /** Successful requests after the fault started. */
  readonly okAfterFault: number;
}

/** Run the load over 4 pods, put `web-1` into `fault` once the load is steady, let the mesh react. */
async function run(t: ExecutionContext, scenario: Scenario): Promise<Outcome> {
  const cluster = await createWebCluster(t);
  const faults = new Map<string, Fault>();
  const hung = new Set<ServerResponse>();
  t.teardown(() => {
    for (const res of hung) res.destroy();
  });
  const handler = (req: IncomingMessage, res: ServerResponse, server: HttpTestServer) => {
    req.resume();
    const fault = faults.get(server.name) ?? 'none';
    if (fault === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const delay = fault === 'slow' ? BASE_LATENCY_MS * 10 : BASE_LATENCY_MS;
    const timer = setTimeout(() => {
      const status = fault === '503' ? 503 : 200;
      const body = JSON.stringify({ pod: server.name });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, delay);
    timer.unref();
    res.on('close', () => clearTimeout(timer));
  };
  const pods = await createPods(t, cluster, { app: 'web', count: 4, subnet: scenario.subnet, handler });
  await waitForReady(cluster.resolver, 'web:80', 4);
  const mesh = new Mesh({ resolver: cluster.resolver, ...scenario.mesh });
  t.teardown(() => mesh.close());

  const requests = countMessages<HttpRequestMessage>(t, CHANNEL_NAMES.httpRequest, (m) => m.service === SERVICE);
  const retries = countMessages<HttpAttemptEndMessage>(
    t,
    CHANNEL_NAMES.httpAttemptEnd,
    (m) => m.retry && m.attempt.request.service === SERVICE,
  );
  const budgetStops = countMessages<{ request: HttpRequestMessage; stopReason?: string }>(
    t,
    CHANNEL_NAMES.httpRequestEnd,
    (m) => m.stopReason === 'budget' && m.request.service === SERVICE,
  );
  const send = () => getPod('http://web/', mesh.dispatcher);
  await warmUp(send, WARM_UP);
  const load = startOpenLoop(t, { ratePerSecond: RATE, maxDurationMs: MAX_LOAD_MS, send });
  await bounded(load.afterCompleted(STEP), STEP_MS, 'warm-up requests');

  const faulty = pods[0]!;
  const faultyKey = `${faulty.host}:${faulty.port}`;
  const ejection = nextMessage<BreakerStateMessage>(
    t,
    CHANNEL_NAMES.breakerState,
    (m) => m.endpoint === faultyKey && m.state === 'ejected',
  );
  const before = faulty.requests;
  const okBefore = load.report.ok;
  faults.set(faulty.name, scenario.fault);
  let ejected: BreakerStateMessage | undefined;
  if (scenario.fault === 'slow') await bounded(load.afterCompleted(STEP * 2), STEP_MS, 'requests with a slow pod');
  else {
    ejected = await bounded(ejection, STEP_MS, `${faulty.name} (${scenario.fault}) is ejected`).catch(
      (error: unknown) => {
        t.log('so far', describeLoad(`pod ${scenario.fault}`, load.report), Object.fromEntries(load.report.byLabel));
        for (const f of load.report.failures.slice(0, 3)) t.log(`at ${f.sentAtMs.toFixed(0)} ms: ${String(f.error)}`);
        throw error;
      },
    );
    await bounded(load.afterCompleted(STEP), STEP_MS, 'requests after the ejection');
  }
  const report = await load.stop();
  t.log(describeLoad(`pod ${scenario.fault}`, report));
  t.log('per pod', Object.fromEntries(report.byLabel));
  t.log(
    `${requests.count} requests, ${retries.count} retries (${((100 * retries.count) / Math.max(1, requests.count)).toFixed(1)} %), ` +
      `${budgetStops.count} stopped by the budget; ${faulty.name} received ${faulty.requests - before} after the fault`,
  );
  return {
    report,
    requests: requests.count,
    retries: retries.count,
    budgetStops: budgetStops.count,
    faulty,
    faultyKey,
    ejected,
    faultyRequests: faulty.requests - before,
    okAfterFault: report.ok - okBefore,
  };
}

/** Every failure names the faulty pod: an UpstreamError with an attempt on it, or its own answer. */
function assertFailuresExplained(t: ExecutionContext, o: Outcome): void {
  const unexplained = o.report.failures.filter((f) => {
    if (f.error instanceof UpstreamError) return !f.error.attempts.some((a) => a.endpoint === o.faultyKey);
    return !String(f.error).includes(o.faulty.name);
  });
  t.deepEqual(
    unexplained.slice(0, 5).map((f) => String(f.error)),
    [],
    'every failed request is explained by the faulty pod',
  );
  t.true(o.report.failures.length === o.report.failed, 'every failure was kept for the check (fewer than 200)');
}

function assertWithinBudget(t: ExecutionContext, o: Outcome): void {
  const bound = (BUDGET.ratioPercent / 100) * o.requests + RESERVE;
  t.true(
    o.retries <= bound,
    `${o.retries} retries ≤ ${bound.toFixed(0)} (20 % of ${o.requests} requests + ${RESERVE})`,
  );
  t.is(o.report.completed, o.report.started, 'every request has an outcome');
}

const retryOptions = (extraCodes: readonly string[] = []) => ({
  attempts: 3,
  errorCodes: ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', ...extraCodes],
  backoff: { baseMs: 5, maxMs: 50 },
  budget: BUDGET,
});

test.serial('a pod that hangs: requests time out, are retried elsewhere, the pod is ejected', async (t) => {
  const o = await run(t, {
    fault: 'hang',
    subnet: 221,
    // Applications that retry idempotent requests on a timeout say so; the headers timeout bounds a hang.
    mesh: { retry: retryOptions(['UND_ERR_HEADERS_TIMEOUT']), timeouts: { headersMs: 2000 } },
  });
  t.truthy(o.ejected, 'ejected');
  assertFailuresExplained(t, o);
  assertWithinBudget(t, o);
  t.true(o.report.ok >= STEP * 2);
});

test.serial('a pod that resets connections: retried elsewhere, ejected, no failed request', async (t) => {
  const o = await run(t, { fault: 'reset', subnet: 222, mesh: { retry: retryOptions() } });
  t.truthy(o.ejected, 'ejected');
  assertFailuresExplained(t, o);
  assertWithinBudget(t, o);
  t.is(o.report.failed, 0, 'resets of an idempotent GET are retried on another pod');
});

test.serial('a pod that answers 503: retried elsewhere, ejected, no failed request', async (t) => {
  const o = await run(t, { fault: '503', subnet: 223, mesh: { retry: retryOptions() } });
  t.truthy(o.ejected, 'ejected');
  assertFailuresExplained(t, o);
  assertWithinBudget(t, o);
  t.is(o.report.failed, 0, '503s of an idempotent GET are retried on another pod');
});

test.serial('a pod 10x slower: latency-aware balancing moves traffic away, no failure, no retry', async (t) => {
  const o = await run(t, { fault: 'slow', subnet: 224, mesh: { policy: 'peak-ewma', retry: retryOptions() } });
  const share = o.faultyRequests / Math.max(1, o.okAfterFault);
  t.log(`slow pod's share after the fault: ${(100 * share).toFixed(1)} % of ${o.okAfterFault} (fair share 25 %)`);
  t.true(share < 0.22, 'the slow pod gets less than its fair share (25 %)');
  t.is(o.report.failed, 0);
  t.is(o.retries, 0, 'slowness alone is no reason to retry');
  assertWithinBudget(t, o);
});
