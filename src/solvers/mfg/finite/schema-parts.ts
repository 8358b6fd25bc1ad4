// Bounded building blocks of the mfg.finite env schemas.
import { type TOptional, type TSchema, Type } from '@sinclair/typebox';

export const Probability = (description: string, fallback: number) =>
  Type.Number({ minimum: 0, maximum: 1, default: fallback, description });

export const Horizon = (fallback: number, maximum = 1000) =>
  Type.Integer({
    minimum: 1,
    maximum,
    default: fallback,
    description: 'Last decision time T (T + 1 decisions).',
  });

export const Real = (description: string, fallback: number) =>
  Type.Number({ minimum: -1e6, maximum: 1e6, default: fallback, description });

export const Positive = (description: string, fallback: number) =>
  Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: fallback, description });

export const Initial = Type.Optional(
  Type.Array(Type.Number({ minimum: 0, maximum: 1 }), {
    minItems: 1,
    maxItems: 10_000,
    description: 'Initial state law μ_0, one entry per state, summing to 1; default as the game defines it.',
  }),
);

/**
 * A game's params object. Every parameter is optional: ajv fills the schema defaults at submit, and the
 * game constructors fall back to the same defaults when called directly.
 */
export function EnvSchema<const Name extends string, Properties extends Record<string, TSchema>>(
  name: Name,
  description: string,
  properties: Properties,
) {
  const optional = Object.fromEntries(
    Object.entries(properties).map(([key, schema]) => [key, Type.Optional(schema)]),
  ) as { [K in keyof Properties]: TOptional<Properties[K]> };
  return Type.Object(
    { name: Type.Literal(name), ...optional, initial: Initial },
    { additionalProperties: false, description },
  );
}
