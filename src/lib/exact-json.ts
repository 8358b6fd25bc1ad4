// JSON for numbers JSON.stringify cannot write as they are. A 64-bit integer past 2^53 (a Number would
// round 9007199254740993 to …992 without a word; JSON numbers have no size limit, and Python's, Go's and
// RapidJSON's readers keep it exact) is written with every digit; NaN and ±Infinity, which JSON.stringify
// turns into null — a number lost without a word — are written as NaN, Infinity and -Infinity, as Triton
// writes them (triton-inference-server/server#3870) and tritonclient and Python's json read them. A reader
// that knows no such literal fails loudly instead of reading a wrong value.
import { randomBytes } from 'node:crypto';

/** A mark no client can know: a JsonNumber goes out as a string carrying it, then loses quotes and mark. */
const MARK = `${randomBytes(12).toString('hex')}:`;
const MARKED = new RegExp(`"${MARK}([^"]*)"`, 'g');
/** Whether the JSON.stringify under way met a JsonNumber (it runs synchronously): no scan otherwise. */
let marked = false;

/** A number written as its text, unquoted. */
export class JsonNumber {
  constructor(readonly text: string) {}

  toJSON(): string {
    marked = true;
    return `${MARK}${this.text}`;
  }
}

export function exactJson(value: unknown): string {
  marked = false;
  const json = JSON.stringify(value);
  return marked ? json.replace(MARKED, '$1') : json;
}
