// Reliability (fuzzing): the run budget of every fuzz property and the "typed error only" check.
// Consumes CLUSTERIP_FUZZ_RUNS / CLUSTERIP_FUZZ_SECONDS; produces fast-check parameters, counters and summary lines.

import { appendFileSync } from 'node:fs';
import { isClusterIPError } from '@clusterip/resolver';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';

/**
 * Total wall-clock seconds of the whole fuzz suite (every `fuzz-*.test.ts` file). Each property gets
 * its `weight` of it (the weights of all properties add up to about 1). Default 60.
 */
const TOTAL_SECONDS = positiveNumber('CLUSTERIP_FUZZ_SECONDS', 60);
/**
 * Runs per property. Default: the property's own count; with only CLUSTERIP_FUZZ_SECONDS set, time decides
 * (a longer run means more inputs, not the same inputs more slowly).
 */
const RUNS = process.env.CLUSTERIP_FUZZ_RUNS === undefined ? undefined : positiveNumber('CLUSTERIP_FUZZ_RUNS', 1);
const SECONDS_GIVEN = process.env.CLUSTERIP_FUZZ_SECONDS !== undefined;
/** Seed for replaying a failure (fast-check prints it with the counterexample). */
const SEED = process.env.CLUSTERIP_FUZZ_SEED === undefined ? undefined : Number(process.env.CLUSTERIP_FUZZ_SEED);

/**
 * A single input that runs this long is a hang, not slowness: the machine is shared, so the bound is
 * generous. Async properties are cut here by fast-check's `timeout`; sync ones are measured.
 */
export const HANG_MS = 5000;

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** What one property run did: inputs tried and the slowest one. */
export interface FuzzCount {
  readonly name: string;
  inputs: number;
  slowestMs: number;
  readonly startedAt: number;
}

/** fast-check parameters for a property of `weight` (share of the suite's time) and `defaultRuns`. */
export function fuzzParameters(weight: number, defaultRuns: number): fc.Parameters<unknown> {
  const numRuns = RUNS ?? (SECONDS_GIVEN ? 1_000_000_000 : defaultRuns);
  return {
    numRuns,
    plugins: [fc.interruptAfterTimeLimit(Math.max(200, TOTAL_SECONDS * 1000 * weight))],
    ...(SEED === undefined ? {} : { seed: SEED }),
  };
}

/** The counters of one file, printed by {@link printSummary}. */
const counts: FuzzCount[] = [];

/** Start counting a property. */
export function counter(name: string): FuzzCount {
  const c: FuzzCount = { name, inputs: 0, slowestMs: 0, startedAt: performance.now() };
  counts.push(c);
  return c;
}

/**
 * Run a fast-check property under the suite budget and log how many inputs it tried. Each input gets
 * {@link HANG_MS}: async bodies are cut by fast-check's `timeout`, sync ones are measured afterwards.
 */
export async function runFuzz<T>(
  t: ExecutionContext,
  name: string,
  options: { readonly weight: number; readonly runs: number },
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => void | Promise<void>,
): Promise<FuzzCount> {
  const c = counter(name);
  const property = fc.asyncProperty(arbitrary, async (value: T) => {
    const started = performance.now();
    c.inputs++;
    try {
      await predicate(value);
    } finally {
      const ms = performance.now() - started;
      if (ms > c.slowestMs) c.slowestMs = ms;
    }
    if (performance.now() - started > HANG_MS) {
      throw new Error(`${name}: one input ran over the hang bound of ${HANG_MS} ms`);
    }
  });
  const parameters = fuzzParameters(options.weight, options.runs);
  const details = await fc.check(property, {
    ...parameters,
    plugins: [...(parameters.plugins ?? []), fc.timeout(HANG_MS)],
  } as fc.Parameters<[T]>);
  if (details.failed) {
    // fast-check's report plus what the property threw (the reason, not only the input).
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `${name}: failed after ${details.numRuns} inputs (seed ${details.seed}, path ${details.counterexamplePath})\n` +
        `counterexample: ${clip(fc.stringify(details.counterexample))}\n${clip(cause)}`,
    );
  }
  logCount(t, c);
  t.true(c.inputs > 0, `${name}: no input was tried`);
  return c;
}

/** Log one property's count on the test (and in the file's summary). */
export function logCount(t: ExecutionContext, c: FuzzCount): void {
  const ms = Math.round(performance.now() - c.startedAt);
  t.log(`fuzz ${c.name}: ${c.inputs} inputs in ${ms} ms (slowest ${c.slowestMs.toFixed(1)} ms)`);
}

/**
 * Print one summary line for the file (`fuzz summary <file>: N inputs over P properties`), and append the
 * per-property counts as JSON lines to $CLUSTERIP_FUZZ_REPORT when set (docs/reliability.md quotes them).
 */
export function printSummary(file: string): void {
  const total = counts.reduce((n, c) => n + c.inputs, 0);
  console.log(`fuzz summary ${file}: ${total} inputs over ${counts.length} properties`);
  const report = process.env.CLUSTERIP_FUZZ_REPORT;
  if (report !== undefined && report !== '') {
    const lines = counts.map((c) => `${JSON.stringify({ file, property: c.name, inputs: c.inputs })}\n`).join('');
    appendFileSync(report, lines);
  }
}

/** The outcome of calling a function that may only throw ClusterIP errors. */
export type Typed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly error: Error };

/** True for an error of our own: the brand, and a `CLUSTERIP_ERR_*` code. */
export function isTypedError(error: unknown): error is Error & { code: string } {
  return (
    isClusterIPError(error) &&
    typeof error.code === 'string' &&
    error.code.startsWith('CLUSTERIP_ERR_') &&
    typeof error.message === 'string' &&
    error.message !== ''
  );
}

/** Call `fn`; return its value, or its typed error. Any other throw fails the property, naming what was thrown. */
export function typed<T>(what: string, fn: () => T): Typed<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return typedFailure(what, error);
  }
}

/** Await `fn`; as {@link typed}. */
export async function typedAsync<T>(what: string, fn: () => Promise<T>): Promise<Typed<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return typedFailure(what, error);
  }
}

function typedFailure(what: string, error: unknown): Typed<never> {
  if (!isTypedError(error)) {
    const shown = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    throw new Error(`${what}: threw an untyped error: ${shown}`);
  }
  return { ok: false, code: error.code, error };
}

/** Long counterexamples (huge lines) are cut for the report; the seed and path replay them whole. */
function clip(text: string): string {
  return text.length > 1500 ? `${text.slice(0, 1500)}… (${text.length} characters)` : text;
}
