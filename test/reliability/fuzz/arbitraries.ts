// Reliability (fuzzing): input generators shared by the fuzz files — name-like strings, hostile text,
// JSON-ish API objects. Consumes nothing; produces fast-check arbitraries.

import fc from 'fast-check';

/** Characters that matter to our parsers (separators, brackets, case, whitespace, non-ASCII, NUL, a lone surrogate). */
const NAME_CHARS = [
  'a',
  'b',
  'z',
  'A',
  'Z',
  '0',
  '1',
  '9',
  '-',
  '_',
  '.',
  '.',
  ':',
  '/',
  '[',
  ']',
  '%',
  '@',
  '?',
  '#',
  ' ',
  '\t',
  '\n',
  '\r',
  'é',
  'ß',
  '\u0000',
  '\uD800',
  '\u200B',
];

/** A DNS-1123 label (what Service and namespace names are). */
export const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);

/** A short valid label (keeps composed names under 253 characters most of the time). */
export const shortLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,8}[a-z0-9])?$/);

/** A label near or over the 63-character limit. */
const longLabel = fc.integer({ min: 60, max: 70 }).map((n) => 'a'.repeat(n));

/** Strings built from {@link NAME_CHARS}: mostly wrong, sometimes right. */
export const nameChars = fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 40 });

/** A dotted name of valid labels, occasionally with a trailing dot or upper case. */
export const dottedName = fc
  .tuple(fc.array(fc.oneof(shortLabel, label), { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean())
  .map(([labels, dot, upper]) => {
    const name = labels.join('.') + (dot ? '.' : '');
    return upper ? name.toUpperCase() : name;
  });

/** A name around the 253-character limit (many labels). */
export const nearLimitName = fc
  .tuple(fc.integer({ min: 30, max: 70 }), fc.constantFrom('abc', 'a', 'abcdefg'))
  .map(([n, l]) => Array.from({ length: n }, () => l).join('.'));

/** Any name-like string: valid names, near-limit names, hostile characters, arbitrary Unicode. */
export const anyName = fc.oneof(
  { weight: 3, arbitrary: dottedName },
  { weight: 1, arbitrary: nearLimitName },
  { weight: 1, arbitrary: longLabel },
  { weight: 3, arbitrary: nameChars },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '-', 'a..b', 'localhost', '::1', '[::1]', '10.0.0.1') },
);

/** Port-like strings: numbers in and out of range, names, garbage. */
export const portText = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('', '0', '00080', '65535', '65536', '99999999999999999999', 'http', 'HTTP', 'grpc-web', 'a--b', '-x'),
  label,
  nameChars,
);

/** Targets as a caller may write them: composed from the pieces above in every form we accept. */
export const targetText = fc.oneof(
  anyName,
  fc.tuple(anyName, portText).map(([h, p]) => `${h}:${p}`),
  fc
    .tuple(fc.constantFrom('', '::1', 'fe80::1', '2001:db8::a', 'web.prod', '10.0.0.1'), portText)
    .map(([h, p]) => `[${h}]:${p}`),
  fc
    .tuple(
      fc.constantFrom('kubernetes', 'clusterip', 'KUBERNETES', 'http', 'https', 'ws', 'grpc', 'x+y'),
      fc.oneof(fc.constant(''), label, nameChars),
      anyName,
      fc.option(portText, { nil: undefined }),
      fc.constantFrom('', '/', '/a/b', '?q=1', '#f'),
    )
    .map(([scheme, authority, host, port, tail]) =>
      scheme.startsWith('k') || scheme.startsWith('K') || scheme === 'clusterip'
        ? `${scheme}://${authority}/${host}${port === undefined ? '' : `:${port}`}`
        : `${scheme}://${host}${port === undefined ? '' : `:${port}`}${tail}`,
    ),
  fc.string({ maxLength: 60 }),
);

/**
 * Arbitrary JSON with a bias towards the shapes our decoders look at: objects whose keys are the
 * field names they read, values of every JSON type.
 */
export function jsonLike(keys: readonly string[], depth = 3): fc.Arbitrary<unknown> {
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth: depth, depthIdentifier: 'json', withCrossShrink: true },
      fc.constantFrom(null, true, false, 0, -1, 1, 80, 65_536, 1.5, Number.MAX_SAFE_INTEGER, '', 'x', 'None', 'TCP'),
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 })), tie('node'), { maxKeys: 6 }),
    ),
  }));
  return fc.oneof(node, fc.jsonValue({ maxDepth: depth }));
}

/**
 * Any JavaScript value (objects, arrays, numbers, symbols...). Keys that shadow `Object.prototype`
 * (`toString: 0`) are left out: `String(value)` throws for such objects in any code, ours included,
 * and they cannot come from JSON or from a typed caller.
 */
export const anyValue = fc.anything({ key: fc.string({ maxLength: 8 }).filter((k) => !(k in Object.prototype)) });
