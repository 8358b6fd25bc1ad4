// JSON.stringify that writes BigInt values as integers with every digit. JSON numbers have no size limit
// and Python's, Go's and RapidJSON's readers (tritonclient, Triton) keep 64-bit integers exact, but
// JSON.stringify refuses a BigInt, and a Number would have rounded 9007199254740993 to …992 without a word.
import { randomBytes } from 'node:crypto';

export function exactJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    // The one refusal this is for; anything else (a cycle, say) is the caller's bug.
    if (!(error instanceof TypeError) || !error.message.includes('BigInt')) throw error;
  }
  // Each BigInt goes out as a string carrying a mark no client can know, then loses its quotes and mark.
  const mark = `${randomBytes(12).toString('hex')}:`;
  const json = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? `${mark}${item}` : item,
  );
  return json.replace(new RegExp(`"${mark}(-?\\d+)"`, 'g'), '$1');
}
