// Fake Kubernetes API: parses and matches `fieldSelector` query strings (`metadata.name=web`, `status.phase!=Failed`).
// Consumes a selector string and the kind's supported field labels; produces a predicate over objects.

import { badRequest } from './api-status.js';
import { readPath } from './kube-object.js';
import type { ResourceKind } from './resource-kinds.js';

/** A parsed field selector; the empty selector matches everything. */
export interface FieldSelector {
  matches(object: unknown): boolean;
  /** The single `metadata.name=<x>` requirement, when the selector pins one name. */
  readonly name?: string;
}

interface FieldRequirement {
  readonly field: string;
  readonly negate: boolean;
  readonly value: string;
}

// Escaping as in apimachinery fields.EscapeValue: `\,` `\=` `\\`.
function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[i + 1] ?? '');
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function fieldValue(object: unknown, field: string): string {
  const value = readPath(object, field);
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/**
 * Parse a field selector for `kind`. Only `metadata.name`, `metadata.namespace` and the kind's own
 * field labels are accepted; anything else is a 400, as the real server answers
 * (`field label not supported: spec.foo`).
 */
export function parseFieldSelector(selector: string | null | undefined, kind: ResourceKind): FieldSelector {
  const text = (selector ?? '').trim();
  const requirements: FieldRequirement[] = [];
  if (text !== '') {
    for (const part of splitUnescaped(text, ',')) {
      const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
      if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
      const [, field = '', op = '=', raw = ''] = m;
      if (field !== 'metadata.name' && field !== 'metadata.namespace' && !kind.fieldLabels.includes(field)) {
        throw badRequest(`field label not supported: ${field}`);
      }
      requirements.push({ field, negate: op === '!=', value: unescapeValue(raw) });
    }
  }
  const pinned = requirements.find((r) => r.field === 'metadata.name' && !r.negate);
  return {
    ...(pinned === undefined ? {} : { name: pinned.value }),
    matches(object) {
      return requirements.every((r) => (fieldValue(object, r.field) === r.value) !== r.negate);
    },
  };
}
