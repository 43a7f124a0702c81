import fc from 'fast-check';

/*
 * What an attacker or a broken client puts where a value belongs: wrong types, edge numbers, NUL
 * bytes and odd unicode, huge strings and arrays, deep nesting. Values that plain JSON cannot
 * express (1e400, duplicate keys, nesting deeper than JSON.stringify recurses) travel as
 * `RawJson`, spliced into the text by `toJsonText`.
 */

/** A piece of JSON text, sent as it is. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of a value that may hold `RawJson` pieces. */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (!(v instanceof RawJson)) return v;
    raws.push(v.text);
    return `\u0000raw${raws.length - 1}\u0000`;
  });
  // JSON.stringify of undefined (a removed root) is undefined: send nothing.
  if (text === undefined) return '';
  return raws.length === 0 ? text : text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

const EDGE_NUMBERS = [0, -1, 1, 0.5, -0.5, 1e-7, 5e-324, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, 1e21, 1e308, -1e308];

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(64),
  '%00',
  '\n',
  '\r\n[system] fake line',
  '\u001b[2J\u001b]52;c;ZXZpbA==\u0007',
  '\ud800',
  'a\udfffb',
  '\ufeff',
  '\u202e\u0644\u0627',
  'e\u0301\u0301\u0301',
  '😀👩‍👩‍👧‍👦',
  '..',
  '../../etc/passwd',
  '/',
  '%2F',
  '%ZZ',
  '%',
  '?a=b',
  '#',
  '*',
  "' OR 1=1 --",
  '"',
  '\\',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  'null',
  'true',
  '0',
  '-1',
  '1e400',
  'NaN',
  '0x10',
  '[]',
  '{}',
  'RUNNING,PENDING',
  ',,,',
  'default',
  'DEFAULT',
  'a'.repeat(63),
  'a'.repeat(64),
  'a'.repeat(257),
  '0'.repeat(32),
  'f'.repeat(33),
  'ABCDEF0123456789ABCDEF0123456789',
];

/** Strings that break parsers, validators, terminals and databases. */
export function hostileString(dictionary: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 6 },
    ...(dictionary.length > 0 ? [{ arbitrary: fc.constantFrom(...dictionary), weight: 3 }] : []),
    // Known words, slightly off: one character changed, cut, or doubled.
    ...(dictionary.length > 0
      ? [{ arbitrary: fc.tuple(fc.constantFrom(...dictionary), fc.nat(), fc.constantFrom('', 'x', 'A', '\u0000', '-', '0')).map(([w, i, c]) => w.slice(0, i % (w.length + 1)) + c + w.slice((i % (w.length + 1)) + 1)), weight: 3 }]
      : []),
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom(1_000, 5_000, 70_000), fc.constantFrom('a', '\u0000', 'é', '😀', '%')).map(([n, c]) => c.repeat(n)), weight: 1 },
  );
}

/** Any value where one of a known type belongs. */
export function hostileValue(dictionary: readonly string[] = []): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': null }), weight: 4 },
    { arbitrary: fc.constantFrom(...EDGE_NUMBERS), weight: 4 },
    { arbitrary: fc.double(), weight: 1 },
    { arbitrary: fc.constantFrom('1e400', '-1e400', '-0', '123456789012345678901234567890', '0.0000000000000000000000001').map((n) => new RawJson(n)), weight: 1 },
    { arbitrary: hostileString(dictionary), weight: 8 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
    // Prototype keys and duplicate keys, which JSON.parse keeps as own properties or last-wins.
    { arbitrary: fc.constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"a":1,"a":2}').map((t) => new RawJson(t)), weight: 1 },
    // Deep nesting: past any recursion a parser or validator might do.
    { arbitrary: fc.tuple(fc.integer({ min: 20, max: 20_000 }), fc.boolean()).map(([depth, arrays]) => new RawJson(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth))), weight: 1 },
    // Wide: many items or keys.
    { arbitrary: fc.constantFrom(1_000, 20_000).map((n) => Array.from({ length: n }, (_, i) => i)), weight: 1 },
    { arbitrary: fc.constantFrom(1_000, 10_000).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))), weight: 1 },
  );
}

/** Body texts that are not JSON objects, or not JSON at all. */
export function hostileBodyText(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('', ' ', 'null', 'true', '0', '"text"', '[]', '[{}]', '{', '{"a":', '{"a":1}}', '{"a":1,}', "{'a':1}", '\u0000', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', 'NaN', '{"a":NaN}'),
    fc.string({ unit: 'binary', maxLength: 200 }),
    // Past the 1 MiB body limit.
    fc.constantFrom(1024 * 1024 + 1, 2 * 1024 * 1024).map((n) => `{"name":"${'a'.repeat(n)}"}`),
  );
}
