// Fake Kubernetes API: parses and matches `labelSelector` query strings like apimachinery's `labels.Parse`.
// Consumes a selector string; produces a predicate over an object's labels (or a 400 BadRequest).

import { badRequest } from './api-status.js';

type Operator = 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt';

interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

/** A parsed label selector; the empty selector matches everything. */
export interface LabelSelector {
  readonly requirements: readonly Requirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

// Label keys: optional DNS-subdomain prefix and a name of up to 63 characters (validation is
// looser than the real server's on purpose: a bad key simply never matches).
const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function fail(selector: string, why: string): never {
  throw badRequest(`unable to parse requirement: ${why} (selector ${JSON.stringify(selector)})`);
}

function checkKey(selector: string, key: string): string {
  if (!KEY.test(key) || key.length > 316) fail(selector, `invalid label key "${key}"`);
  return key;
}

function checkValue(selector: string, value: string): string {
  if (!VALUE.test(value) || value.length > 63) fail(selector, `invalid label value: "${value}"`);
  return value;
}

function parseRequirement(selector: string, raw: string): Requirement {
  const text = raw.trim();
  if (text === '') fail(selector, "found '', expected: !, identifier, or 'end of string'");
  if (text.startsWith('!')) return { key: checkKey(selector, text.slice(1).trim()), operator: '!', values: [] };
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (setMatch) {
    const [, key = '', op = 'in', list = ''] = setMatch;
    const values = list.trim() === '' ? [] : list.split(',').map((v) => checkValue(selector, v.trim()));
    return { key: checkKey(selector, key), operator: op as Operator, values };
  }
  const opMatch = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(text);
  if (opMatch) {
    const [, key = '', op = '=', value = ''] = opMatch;
    if (op === '<' || op === '>') {
      if (!/^-?\d+$/.test(value.trim())) fail(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key: checkKey(selector, key), operator: op === '<' ? 'lt' : 'gt', values: [value.trim()] };
    }
    return {
      key: checkKey(selector, key),
      operator: op === '!=' ? '!=' : '=',
      values: [checkValue(selector, value.trim())],
    };
  }
  if (/^\S+$/.test(text)) return { key: checkKey(selector, text), operator: 'exists', values: [] };
  return fail(selector, `found '${text}', expected: identifier, or operator`);
}

function matchRequirement(req: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && req.values.includes(value ?? '');
    case '!=':
    case 'notin':
      // apimachinery: a missing label satisfies != and notin.
      return !has || !req.values.includes(value ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value ?? '')) return false;
      const n = Number(value);
      const bound = Number(req.values[0]);
      return req.operator === 'gt' ? n > bound : n < bound;
    }
  }
}

/**
 * Parse a label selector (`app=web,tier!=db`, `env in (a,b)`, `!canary`, `release`). Throws an
 * `ApiStatusError` (400) on syntax errors, as the real server answers.
 */
export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  const text = (selector ?? '').trim();
  const requirements = text === '' ? [] : splitTopLevel(text).map((part) => parseRequirement(text, part));
  return {
    requirements,
    matches(labels) {
      const l = labels ?? {};
      return requirements.every((r) => matchRequirement(r, l));
    },
  };
}
