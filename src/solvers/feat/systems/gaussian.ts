// Gaussian ↔ Gaussian in any dimension: U_i(x) = ½(x − μ_i)ᵀ Σ_i⁻¹ (x − μ_i) + c_i, so
// ΔF = ½ log(det Σ_a / det Σ_b) + (c_b − c_a) exactly.
import { type Static, Type } from '@sinclair/typebox';
import type { FieldError } from '../../../errors.js';
import { asymmetry, cholesky } from '../linalg.js';
import { deltaFromPartitions, type SystemPair } from './end-state.js';
import { GaussianState } from './gaussian-state.js';

export const MAX_GAUSSIAN_DIM = 128;

const Values = Type.Array(Type.Number({ minimum: -1e6, maximum: 1e6 }), { maxItems: MAX_GAUSSIAN_DIM });
const GaussianEnd = Type.Object(
  {
    mean: Type.Optional({ ...Values, description: 'μ, d entries; default 0.' }),
    covariance: Type.Optional(
      Type.Array(Values, {
        maxItems: MAX_GAUSSIAN_DIM,
        description: 'Σ, d × d, symmetric positive definite; default the identity.',
      }),
    ),
    offset: Type.Optional(
      Type.Number({ minimum: -1e6, maximum: 1e6, description: 'c, added to the energy; default 0.' }),
    ),
  },
  { additionalProperties: false },
);

export const GaussianSystemSchema = Type.Object(
  {
    name: Type.Literal('gaussian'),
    dim: Type.Integer({ minimum: 1, maximum: MAX_GAUSSIAN_DIM }),
    a: Type.Optional(GaussianEnd),
    b: Type.Optional(GaussianEnd),
  },
  { additionalProperties: false },
);
export type GaussianSystemParams = Static<typeof GaussianSystemSchema>;
type GaussianEndParams = Static<typeof GaussianEnd>;

function endErrors(end: GaussianEndParams | undefined, dim: number, path: string): FieldError[] {
  if (end === undefined) return [];
  const errors: FieldError[] = [];
  if (end.mean !== undefined && end.mean.length !== dim) {
    errors.push({ path: `${path}/mean`, message: `must have dim = ${dim} entries` });
  }
  if (end.covariance !== undefined)
    errors.push(...covarianceErrors(end.covariance, dim, `${path}/covariance`));
  return errors;
}

/** A user's covariance must be d × d, symmetric (to 1e-9 relative) and positive definite. */
export function covarianceErrors(rows: number[][], dim: number, path: string): FieldError[] {
  if (rows.length !== dim || rows.some((row) => row.length !== dim))
    return [{ path, message: `must be ${dim} × ${dim}` }];
  const matrix = Float64Array.from(rows.flat());
  if (asymmetry(matrix, dim) > 1e-9 * Math.max(1, ...matrix.map(Math.abs)))
    return [{ path, message: 'must be symmetric' }];
  if (cholesky(matrix, dim) === undefined) return [{ path, message: 'must be positive definite' }];
  return [];
}

export function gaussianSystemErrors(params: GaussianSystemParams, path: string): FieldError[] {
  return [...endErrors(params.a, params.dim, `${path}/a`), ...endErrors(params.b, params.dim, `${path}/b`)];
}

function endState(end: GaussianEndParams | undefined, dim: number): GaussianState {
  const mean = end?.mean === undefined ? new Float64Array(dim) : Float64Array.from(end.mean);
  const covariance = new Float64Array(dim * dim);
  if (end?.covariance === undefined) for (let i = 0; i < dim; i++) covariance[i * dim + i] = 1;
  else covariance.set(end.covariance.flat());
  return new GaussianState(dim, mean, covariance, end?.offset ?? 0, 'covariance');
}

export function createGaussianSystem(params: GaussianSystemParams): SystemPair {
  const a = endState(params.a, params.dim);
  const b = endState(params.b, params.dim);
  return {
    name: 'gaussian',
    dim: params.dim,
    a,
    b,
    reference: { deltaF: deltaFromPartitions(a, b) as number, kind: 'analytic' },
  };
}
