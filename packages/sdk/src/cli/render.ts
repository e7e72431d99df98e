// CLI: rendering helpers shared by the commands — aligned text tables, JSON documents, the one-line
// error. Consumes result objects and errors; produces text for stdout/stderr.

import { ClusterIPError } from '@clusterip/resolver';
import type { CliIo } from './io.js';

/**
 * Columns padded to the widest cell, separated by three spaces, as `kubectl get` prints them.
 * Headers are upper-cased by the caller.
 *
 * @example
 * ```ts
 * table(['NAME', 'AGE'], [['web', '5m']]) // 'NAME   AGE\nweb    5m'
 * ```
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * Write one JSON document (pretty, newline-terminated).
 *
 * @example
 * ```ts
 * writeJson(io, { status: 'ok' })
 * ```
 */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `{ code, message }` of any failure; non-ClusterIP errors become `CLUSTERIP_ERR` (never a stack).
 *
 * @example
 * ```ts
 * errorInfo(err) // { code: 'CLUSTERIP_ERR_SERVICE_NOT_FOUND', message: 'service "web": not found ...' }
 * ```
 */
export function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof ClusterIPError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'CLUSTERIP_ERR', message: `clusterip: unexpected failure: ${message}` };
}

/**
 * Report a failure as one line on stderr (`clusterip: error: …`), or as `{ "error": { code, message } }`
 * on stdout with `--output json`. The line says `clusterip` once: a message whose subject is the tool
 * (`clusterip: no cluster configured …`, `clusterip resolve: unknown flag …`) loses that word there;
 * the JSON message is kept whole.
 *
 * @example
 * ```ts
 * writeError(io, err, 'json') // {"error":{"code":...,"message":...}}
 * writeError(io, err, 'text') // clusterip: error: resolve: unknown flag --bogus: see clusterip resolve --help (CLUSTERIP_ERR_INVALID_ARG)
 * ```
 */
export function writeError(io: CliIo, error: unknown, output: 'text' | 'json'): void {
  const info = errorInfo(error);
  if (output === 'json') writeJson(io, { error: info });
  else {
    const message = info.message.replace(/^clusterip:?\s+/, '').replace(/\s*\n\s*/g, ' ');
    io.stderr(`clusterip: error: ${message} (${info.code})\n`);
  }
}

/**
 * Age as `kubectl` prints it: `45s`, `12m`, `3h`, `5d`.
 *
 * @example
 * ```ts
 * age('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z')) // '5m'
 * ```
 */
export function age(from: string | undefined, now: number): string {
  if (from === undefined) return '<unknown>';
  const ms = now - Date.parse(from);
  if (!Number.isFinite(ms)) return '<unknown>';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
