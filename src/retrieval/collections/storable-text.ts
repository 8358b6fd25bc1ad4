// Point ids and payload strings must be text every store can hold: well-formed Unicode (no lone surrogate,
// which a UTF-8 encoder would silently turn into U+FFFD and so change the id) and no U+0000, which
// PostgreSQL's text and jsonb refuse. Both stores take the same points, so both refuse these, with the path.
import type { FieldError } from '../../errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function unstorable(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (a lone surrogate cannot be stored)';
  if (text.includes('\u0000')) return 'must not contain U+0000';
  return undefined;
}

/** The first string in `value` (object keys included) that cannot be stored, as a field error. */
export function unstorableText(value: unknown, path: string): FieldError | undefined {
  if (typeof value === 'string') {
    const message = unstorable(value);
    return message === undefined ? undefined : { path, message };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const keyMessage = Array.isArray(value) ? undefined : unstorable(key);
    if (keyMessage !== undefined) return { path: at, message: `key ${keyMessage}` };
    const found = unstorableText(inner, at);
    if (found !== undefined) return found;
  }
  return undefined;
}
