// Structural limits on JSON a client sends, checked before any handler, schema or queue sees it: nesting
// depth, keys per object, array length, string length, and numbers that JSON can spell but a service cannot
// keep (1e309 parses as Infinity and is stored as null; 9007199254740993 parses as …992). Every check is
// iterative, so no input can exhaust the stack, and stops at the first violation.

export interface JsonLimits {
  /** Deepest nesting of objects and arrays. @defaultValue 64 */
  maxDepth: number;
  /** Most keys in one object. @defaultValue 10 000 */
  maxKeys: number;
  /** Most items in one array. @defaultValue 16 777 216 */
  maxArrayLength: number;
  /** Longest string, in UTF-16 code units. @defaultValue 8 388 608 */
  maxStringLength: number;
}

/** The limits when the environment sets none (JSON_MAX_DEPTH, JSON_MAX_KEYS, …; config.ts). */
export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 64,
  maxKeys: 10_000,
  maxArrayLength: 16_777_216,
  maxStringLength: 8_388_608,
};

export interface JsonLimitViolation {
  /** JSON pointer to the value over the limit, relative to the document root ('' for the root). */
  pointer: string;
  /** What is wrong, naming the limit. */
  message: string;
  /** Which limit: the name of its environment variable, 'finite-numbers' or 'exact-integers'. */
  limit: string;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const ZERO = 0x30;
const NINE = 0x39;
const POINT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PLUS = 0x2b;
const MINUS = 0x2d;
/** Digits from which an integer literal may be past what a double holds exactly (2^53 has 16). */
const LONG_INTEGER_DIGITS = 16;

/** What the scan of the raw bytes finds before anything parses them. */
export interface RawJsonScan {
  /** Nesting deeper than `maxDepth`. */
  tooDeep: boolean;
  /**
   * What the integer literals too precise for a double parse to (9007199254740993 reads as …992): values
   * a client would get back changed without a word. A literal that is the shortest spelling of its double
   * (12345678901234567000, as Go and JavaScript write 1.2345678901234567e19) is exact and not listed.
   */
  rounded: number[];
}

/**
 * Scans raw JSON bytes for nesting deeper than `maxDepth` before anything parses them — a body nested a
 * million levels deep is refused after its first `maxDepth` brackets instead of being built in memory — and
 * for integer literals that parsing would round. Brackets and digits inside strings do not count. Malformed
 * JSON is left for the parser to refuse.
 */
export function scanRawJson(bytes: Uint8Array, maxDepth: number): RawJsonScan {
  const rounded: number[] = [];
  let depth = 0;
  let inString = false;
  let digits = 0;
  let fraction = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte >= ZERO && byte <= NINE) {
      if (++digits === LONG_INTEGER_DIGITS && !fraction) {
        const value = roundedLiteralAt(bytes, i);
        if (value !== undefined) rounded.push(value);
      }
      continue;
    }
    digits = 0;
    // The digits after a point or an exponent's mark are a float's, which parsing may round as floats are.
    if (byte === POINT || byte === LOWER_E || byte === UPPER_E) {
      fraction = true;
      continue;
    }
    if (byte === PLUS || byte === MINUS) continue;
    fraction = false;
    if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return { tooDeep: true, rounded };
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return { tooDeep: false, rounded };
}

const NUMBER_BYTE = /[-+.eE0-9]/;

/** The value of the number literal around `at` when it is an integer a double cannot hold as spelled. */
function roundedLiteralAt(bytes: Uint8Array, at: number): number | undefined {
  const isNumberByte = (index: number) => NUMBER_BYTE.test(String.fromCharCode(bytes[index] as number));
  let start = at;
  while (start > 0 && isNumberByte(start - 1)) start--;
  let end = at + 1;
  while (end < bytes.length && isNumberByte(end)) end++;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
  if (!/^-?[0-9]+$/.test(text)) return undefined; // a fraction or an exponent: a float, read as one
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined; // past ±1.8e308: the finite-numbers check names it
  return BigInt(text) === BigInt(value) || String(value) === text ? undefined : value;
}

/** What almost every body has rounded: nothing (no set to build for each one). */
const NONE_ROUNDED: ReadonlySet<number> = new Set();

interface Trail {
  parent: Trail | undefined;
  key: string;
}

function pointerOf(trail: Trail | undefined, key?: string): string {
  const parts: string[] = key === undefined ? [] : [key];
  for (let at = trail; at !== undefined; at = at.parent) parts.push(at.key);
  return parts
    .reverse()
    .slice(1)
    .map((part) => `/${part.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}

function problemAt(
  value: unknown,
  limits: JsonLimits,
  rounded: ReadonlySet<number>,
): { message: string; limit: string } | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return {
        message: 'is not a finite number (JSON numbers beyond ±1.8e308 are refused)',
        limit: 'finite-numbers',
      };
    }
    if (rounded.has(value)) {
      return {
        message:
          `is an integer with more digits than a 64-bit float holds: it would be read, kept and returned as ` +
          `${value} (send integers past ±2^53 as strings)`,
        limit: 'exact-integers',
      };
    }
  } else if (typeof value === 'string') {
    if (value.length > limits.maxStringLength) {
      return {
        message: `is a string of ${value.length} characters, over the limit of ${limits.maxStringLength} (JSON_MAX_STRING_LENGTH)`,
        limit: 'JSON_MAX_STRING_LENGTH',
      };
    }
  }
  return undefined;
}

/**
 * The first value of a parsed document that breaks a limit, or undefined; `rounded` (scanRawJson's) are
 * numbers that parsing changed. Walks with an explicit stack; scalars inside arrays are checked in place, so
 * a flat array of numbers costs one loop.
 */
export function findLimitViolation(
  document: unknown,
  limits: JsonLimits,
  rounded: ReadonlySet<number> = NONE_ROUNDED,
): JsonLimitViolation | undefined {
  const root: Trail = { parent: undefined, key: '' };
  const rootProblem = problemAt(document, limits, rounded);
  if (rootProblem !== undefined) return { pointer: '', ...rootProblem };
  const stack: Array<{ value: object; trail: Trail; depth: number }> = [];
  if (document !== null && typeof document === 'object')
    stack.push({ value: document, trail: root, depth: 1 });
  while (stack.length > 0) {
    const { value, trail, depth } = stack.pop() as { value: object; trail: Trail; depth: number };
    if (depth > limits.maxDepth) {
      return {
        pointer: pointerOf(trail),
        message: `is nested ${depth} levels deep, over the limit of ${limits.maxDepth} (JSON_MAX_DEPTH)`,
        limit: 'JSON_MAX_DEPTH',
      };
    }
    const isArray = Array.isArray(value);
    const keys = isArray ? undefined : Object.keys(value);
    const size = isArray ? (value as unknown[]).length : (keys as string[]).length;
    if (isArray && size > limits.maxArrayLength) {
      return {
        pointer: pointerOf(trail),
        message: `is an array of ${size} items, over the limit of ${limits.maxArrayLength} (JSON_MAX_ARRAY_LENGTH)`,
        limit: 'JSON_MAX_ARRAY_LENGTH',
      };
    }
    if (!isArray && size > limits.maxKeys) {
      return {
        pointer: pointerOf(trail),
        message: `is an object of ${size} keys, over the limit of ${limits.maxKeys} (JSON_MAX_KEYS)`,
        limit: 'JSON_MAX_KEYS',
      };
    }
    for (let i = 0; i < size; i++) {
      const key = isArray ? String(i) : ((keys as string[])[i] as string);
      if (!isArray && key.length > limits.maxStringLength) {
        return {
          pointer: pointerOf(trail),
          message: `has a key of ${key.length} characters, over the limit of ${limits.maxStringLength} (JSON_MAX_STRING_LENGTH)`,
          limit: 'JSON_MAX_STRING_LENGTH',
        };
      }
      const item = isArray ? (value as unknown[])[i] : (value as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object') {
        stack.push({ value: item, trail: { parent: trail, key }, depth: depth + 1 });
        continue;
      }
      const problem = problemAt(item, limits, rounded);
      if (problem !== undefined) return { pointer: pointerOf(trail, key), ...problem };
    }
  }
  return undefined;
}
