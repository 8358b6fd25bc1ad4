// A union of objects told apart by one literal property (env.name, algorithm.name …), emitted as oneOf
// with an OpenAPI/ajv discriminator: ajv then validates only the branch the tag names, so a bad field
// gets one error at its own path instead of one per branch, and an unknown tag gets one error at the tag.
import { type Static, type TObject, type TUnion, Type } from '@sinclair/typebox';

export function TaggedUnion<const Members extends TObject[]>(
  propertyName: string,
  members: [...Members],
  options: { description?: string } = {},
) {
  return Type.Unsafe<Static<TUnion<Members>>>({
    ...options,
    type: 'object',
    oneOf: members,
    discriminator: { propertyName },
    required: [propertyName],
  });
}
