// Demo (wording): a count with its noun in the right number, for the lines the demo prints.
// Consumes a count and the noun's forms; produces text such as "1 attempt" or "3 attempts".

/**
 * `n` and the noun in the number `n` asks for: `many` (default `one` + "s") unless `n` is 1.
 *
 * @example
 * ```ts
 * plural(1, 'attempt') // '1 attempt'
 * plural(0, 'miss', 'misses') // '0 misses'
 * ```
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
