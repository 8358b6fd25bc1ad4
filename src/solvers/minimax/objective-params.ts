// The objective catalog as a params schema (a tagged union on `name`) and the checks the schema cannot
// express: frequency vectors of the stated dimension, a (2K + 1) × (2K + 1) coefficient matrix, and integer
// frequencies where the game lives on the torus. Every failure names its field path.
import { Type } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { TaggedUnion } from '../../lib/tagged-union.js';
import type { ObjectiveParams } from './objectives.js';

export const MAX_FREQUENCIES = 16;

const Mm1dSchema = Type.Object(
  { name: Type.Literal('mm1d') },
  { additionalProperties: false, description: 'Q(x, y) = cos(x − y) + 0.5 sin x on ℝ (our MM1D benchmark).' },
);

const Mm2dSchema = Type.Object(
  { name: Type.Literal('mm2d') },
  {
    additionalProperties: false,
    description: 'Q(x, y) = cos(x₁ − y₁) + cos(x₂ − y₂) + 0.5 sin x₁ + 0.5 sin x₂ cos y₁ on ℝ².',
  },
);

const FeaturesSchema = Type.Object(
  {
    name: Type.Literal('features'),
    dimension: Type.Integer({ minimum: 1, maximum: 2, description: 'd, the dimension of x and of y.' }),
    frequencies: Type.Array(
      Type.Array(Type.Number({ minimum: -16, maximum: 16 }), { minItems: 1, maxItems: 2 }),
      {
        minItems: 1,
        maxItems: MAX_FREQUENCIES,
        description:
          'ω_1 … ω_K, each a vector of d numbers; the dictionary is φ = (1, cos ω_1·z, sin ω_1·z, …, sin ω_K·z).',
      },
    ),
    coefficients: Type.Array(
      Type.Array(Type.Number({ minimum: -1000, maximum: 1000 }), { maxItems: 2 * MAX_FREQUENCIES + 1 }),
      {
        maxItems: 2 * MAX_FREQUENCIES + 1,
        description: 'A, (2K + 1) rows of 2K + 1 numbers: Q(x, y) = Σ_jk A_jk φ_j(x) φ_k(y).',
      },
    ),
  },
  {
    additionalProperties: false,
    description: 'A finite-feature game on ℝ^d (on the torus: integer frequencies).',
  },
);

export const ObjectiveSchema = TaggedUnion('name', [Mm1dSchema, Mm2dSchema, FeaturesSchema], {
  description: 'The bilinear game L(μ, ν) = ∫∫Q(x, y)dμ(x)dν(y).',
});

const OBJECTIVE = '/body/params/objective';

/** Shape checks of a features objective; `torus` also requires integer frequencies. */
export function objectiveErrors(objective: ObjectiveParams, torus: boolean): FieldError[] {
  if (objective.name !== 'features') return [];
  const errors: FieldError[] = [];
  const size = 2 * objective.frequencies.length + 1;
  objective.frequencies.forEach((omega, k) => {
    if (omega.length !== objective.dimension) {
      errors.push({
        path: `${OBJECTIVE}/frequencies/${k}`,
        message: `must have ${objective.dimension} entries (the dimension)`,
      });
    } else if (torus && !omega.every(Number.isInteger)) {
      errors.push({
        path: `${OBJECTIVE}/frequencies/${k}`,
        message: 'must be integers on the torus (Q must be 2π-periodic)',
      });
    }
  });
  if (objective.coefficients.length !== size) {
    errors.push({
      path: `${OBJECTIVE}/coefficients`,
      message: `must have 2K + 1 = ${size} rows for K = ${objective.frequencies.length} frequencies`,
    });
  }
  objective.coefficients.forEach((row, j) => {
    if (row.length !== size)
      errors.push({ path: `${OBJECTIVE}/coefficients/${j}`, message: `must have 2K + 1 = ${size} entries` });
  });
  return errors;
}

export function objectiveDimension(objective: ObjectiveParams): number {
  return objective.name === 'mm1d' ? 1 : objective.name === 'mm2d' ? 2 : objective.dimension;
}
