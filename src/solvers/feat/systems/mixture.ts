// Gaussian mixtures of the user's own at both ends: U_i(x) = −log Σ_k w_k N(x; m_k, Σ_k) + c_i. Each
// component is a normalised Gaussian, so Z_i = (Σ_k w_k)·e^{−c_i} and ΔF = c_b − c_a − log(Σw_b / Σw_a)
// exactly, whatever the means and covariances; samples are exact (a component by weight, then m + Lz).
import { type Static, Type } from '@sinclair/typebox';
import type { FieldError } from '../../../errors.js';
import type { Random } from '../../../lib/random.js';
import { deltaFromPartitions, type EndState, type SystemPair } from './end-state.js';
import { covarianceErrors } from './gaussian.js';
import { GaussianState } from './gaussian-state.js';

export const MAX_MIXTURE_DIM = 64;
export const MAX_COMPONENTS = 64;
/** components × d² per end: one energy evaluation's cost, kept near a 64-d Gaussian's. */
export const MAX_MIXTURE_WORK = 64 * 64 * 16;

const Values = Type.Array(Type.Number({ minimum: -1e6, maximum: 1e6 }), { maxItems: MAX_MIXTURE_DIM });
const Component = Type.Object(
  {
    weight: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, description: 'w_k > 0; need not sum to 1.' }),
    mean: { ...Values, description: 'm_k, d entries.' },
    covariance: Type.Optional(
      Type.Array(Values, {
        maxItems: MAX_MIXTURE_DIM,
        description: 'Σ_k, d × d, symmetric positive definite; default the identity.',
      }),
    ),
  },
  { additionalProperties: false },
);
const MixtureEnd = Type.Object(
  {
    components: Type.Array(Component, { minItems: 1, maxItems: MAX_COMPONENTS }),
    offset: Type.Optional(
      Type.Number({ minimum: -1e6, maximum: 1e6, description: 'c, added to the energy; default 0.' }),
    ),
  },
  { additionalProperties: false },
);

export const MixtureSystemSchema = Type.Object(
  {
    name: Type.Literal('mixture'),
    dim: Type.Integer({ minimum: 1, maximum: MAX_MIXTURE_DIM }),
    a: MixtureEnd,
    b: MixtureEnd,
  },
  {
    additionalProperties: false,
    description: 'Your own Gaussian mixtures at both ends; ΔF = c_b − c_a − log(Σw_b / Σw_a) exactly.',
  },
);
export type MixtureSystemParams = Static<typeof MixtureSystemSchema>;
type MixtureEndParams = Static<typeof MixtureEnd>;

function endErrors(end: MixtureEndParams, dim: number, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const work = end.components.length * dim * dim;
  if (work > MAX_MIXTURE_WORK) {
    return [
      { path: `${path}/components`, message: `components × d² is ${work}; the limit is ${MAX_MIXTURE_WORK}` },
    ];
  }
  end.components.forEach((component, k) => {
    const at = `${path}/components/${k}`;
    if (component.mean.length !== dim)
      errors.push({ path: `${at}/mean`, message: `must have dim = ${dim} entries` });
    if (component.covariance !== undefined)
      errors.push(...covarianceErrors(component.covariance, dim, `${at}/covariance`));
  });
  return errors;
}

export function mixtureSystemErrors(params: MixtureSystemParams, path: string): FieldError[] {
  return [...endErrors(params.a, params.dim, `${path}/a`), ...endErrors(params.b, params.dim, `${path}/b`)];
}

export class GaussianMixtureState implements EndState {
  readonly logPartition: number;
  private readonly offset: number;
  private readonly parts: GaussianState[];
  /** log w_k − log Z_k: component k's log density is this − E_k(x). */
  private readonly logScale: Float64Array;
  private readonly cumulative: Float64Array;
  private readonly logTerms: Float64Array;
  /** ∇E_k(x) of every component, row k. */
  private readonly partGradients: Float64Array;

  constructor(
    readonly dim: number,
    end: MixtureEndParams,
  ) {
    this.parts = end.components.map((component) => {
      const covariance = new Float64Array(dim * dim);
      if (component.covariance === undefined) for (let i = 0; i < dim; i++) covariance[i * dim + i] = 1;
      else covariance.set(component.covariance.flat());
      return new GaussianState(dim, Float64Array.from(component.mean), covariance, 0, 'covariance');
    });
    const weights = end.components.map((component) => component.weight);
    const total = weights.reduce((sum, w) => sum + w, 0);
    this.logScale = Float64Array.from(
      this.parts,
      (part, k) => Math.log(weights[k] as number) - (part.logPartition as number),
    );
    let running = 0;
    this.cumulative = Float64Array.from(weights, (w) => (running += w / total));
    this.logPartition = Math.log(total) - (end.offset ?? 0);
    this.offset = end.offset ?? 0;
    this.logTerms = new Float64Array(this.parts.length);
    this.partGradients = new Float64Array(this.parts.length * dim);
  }

  energy(x: Float64Array, gradient?: Float64Array): number {
    const { dim, parts, logScale, logTerms, partGradients } = this;
    let largest = -Infinity;
    parts.forEach((part, k) => {
      const partGradient =
        gradient === undefined ? undefined : partGradients.subarray(k * dim, (k + 1) * dim);
      logTerms[k] = (logScale[k] as number) - part.energy(x, partGradient);
      largest = Math.max(largest, logTerms[k] as number);
    });
    let sum = 0;
    for (const term of logTerms) sum += Math.exp(term - largest);
    const logDensity = largest + Math.log(sum);
    if (gradient !== undefined) {
      // ∇U = Σ_k r_k Σ_k⁻¹(x − m_k), r_k the responsibilities.
      gradient.fill(0);
      for (let k = 0; k < parts.length; k++) {
        const responsibility = Math.exp((logTerms[k] as number) - logDensity);
        for (let i = 0; i < dim; i++)
          gradient[i] = (gradient[i] as number) + responsibility * (partGradients[k * dim + i] as number);
      }
    }
    return -logDensity + this.offset;
  }

  sample(random: Random, count: number): Float64Array {
    const out = new Float64Array(count * this.dim);
    for (let n = 0; n < count; n++) {
      const u = random.nextUniform();
      let k = this.cumulative.findIndex((edge) => u < edge);
      if (k < 0) k = this.parts.length - 1;
      out.set((this.parts[k] as GaussianState).sample(random, 1), n * this.dim);
    }
    return out;
  }
}

export function createMixtureSystem(params: MixtureSystemParams): SystemPair {
  const a = new GaussianMixtureState(params.dim, params.a);
  const b = new GaussianMixtureState(params.dim, params.b);
  return {
    name: 'mixture',
    dim: params.dim,
    a,
    b,
    reference: { deltaF: deltaFromPartitions(a, b) as number, kind: 'analytic' },
  };
}
