// Search filters on point payloads: {field: value} (equality) or {field: {in: [values]}}, several fields
// all having to match. Values are strings, numbers or booleans; a field that no point of the collection
// has is refused, since a typo would otherwise silently return nothing.
import { InvalidInputError } from '../../errors.js';

export type Scalar = string | number | boolean;
export type Payload = Record<string, unknown>;
export type FilterCondition = Scalar | { in: Scalar[] };
export type PayloadFilter = Record<string, FilterCondition>;

/** A predicate over payloads; throws 400 for fields unknown to the collection. */
export function compileFilter(
  filter: PayloadFilter,
  knownFields: (field: string) => boolean,
  path: string,
): (payload: Payload | undefined) => boolean {
  const conditions = Object.entries(filter).map(([field, condition]) => {
    if (!knownFields(field)) {
      const at = `${path}/${field}`;
      throw new InvalidInputError(`${at}: no point in this collection has a payload field '${field}'`, [
        { path: at, message: 'unknown payload field' },
      ]);
    }
    const allowed = new Set<Scalar>(typeof condition === 'object' ? condition.in : [condition]);
    return (payload: Payload | undefined) => allowed.has(payload?.[field] as Scalar);
  });
  return (payload) => conditions.every((matches) => matches(payload));
}
