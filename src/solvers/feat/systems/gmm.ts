// GMM ↔ GMM, FEAT's GMM-40 construction (energy/gmm.py: equal weights, isotropic components, means uniform
// in [−loc_scaling, loc_scaling]^d drawn from a per-state seed) with an offset c_i on each energy:
// U_i(x) = −log Σ_k (1/K) N(x; m_k, σ²I) + c_i, so Z_i = e^{−c_i} and ΔF = c_b − c_a exactly.
// Deviations: the means come from our seeded generator (src/lib/random.ts), not torch's, and σ is given
// directly instead of through softplus.
import { type Static, Type } from '@sinclair/typebox';
import { deriveSeed, Random } from '../../../lib/random.js';
import type { EndState, SystemPair } from './end-state.js';

const MixtureEnd = (defaults: { components: number; scale: number; seed: number; offset: number }) =>
  Type.Object(
    {
      components: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: defaults.components })),
      scale: Type.Optional(
        Type.Number({
          exclusiveMinimum: 0,
          maximum: 100,
          default: defaults.scale,
          description: 'σ of every component.',
        }),
      ),
      seed: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 2 ** 32 - 1,
          default: defaults.seed,
          description: 'Draws the means.',
        }),
      ),
      offset: Type.Optional(
        Type.Number({ minimum: -1e6, maximum: 1e6, default: defaults.offset, description: 'c_i.' }),
      ),
    },
    { additionalProperties: false },
  );

export const GMM_DEFAULTS = {
  dim: 10,
  loc_scaling: 2,
  a: { components: 4, scale: 0.3, seed: 0, offset: 0 },
  b: { components: 3, scale: 0.2, seed: 10, offset: 2 },
};

export const GmmSystemSchema = Type.Object(
  {
    name: Type.Literal('gmm'),
    dim: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: GMM_DEFAULTS.dim })),
    loc_scaling: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 100, default: GMM_DEFAULTS.loc_scaling }),
    ),
    a: Type.Optional(MixtureEnd(GMM_DEFAULTS.a)),
    b: Type.Optional(MixtureEnd(GMM_DEFAULTS.b)),
  },
  { additionalProperties: false },
);
export type GmmSystemParams = Static<typeof GmmSystemSchema>;

/** The params with every default filled in: what a learned transport records it was trained on. */
export function resolveGmm(params: GmmSystemParams) {
  return {
    name: 'gmm' as const,
    dim: params.dim ?? GMM_DEFAULTS.dim,
    loc_scaling: params.loc_scaling ?? GMM_DEFAULTS.loc_scaling,
    a: { ...GMM_DEFAULTS.a, ...params.a },
    b: { ...GMM_DEFAULTS.b, ...params.b },
  };
}

export class MixtureState implements EndState {
  readonly means: Float64Array;
  readonly logPartition: number;
  private readonly logComponent: Float64Array;

  constructor(
    readonly dim: number,
    readonly components: number,
    readonly scale: number,
    locScaling: number,
    seed: number,
    readonly offset: number,
  ) {
    const random = new Random(deriveSeed(seed, 0));
    this.means = new Float64Array(components * dim);
    for (let i = 0; i < this.means.length; i++) this.means[i] = (2 * random.nextUniform() - 1) * locScaling;
    this.logPartition = -offset;
    this.logComponent = new Float64Array(components);
  }

  energy(x: Float64Array, gradient?: Float64Array): number {
    const { dim, components, scale, means, logComponent } = this;
    const variance = scale * scale;
    const logNormaliser = -Math.log(components) - (dim / 2) * Math.log(2 * Math.PI * variance);
    let largest = -Infinity;
    for (let k = 0; k < components; k++) {
      let squared = 0;
      for (let i = 0; i < dim; i++) {
        const difference = (x[i] as number) - (means[k * dim + i] as number);
        squared += difference * difference;
      }
      const value = logNormaliser - squared / (2 * variance);
      logComponent[k] = value;
      if (value > largest) largest = value;
    }
    let total = 0;
    for (let k = 0; k < components; k++) total += Math.exp((logComponent[k] as number) - largest);
    const logDensity = largest + Math.log(total);
    if (gradient !== undefined) {
      // ∇U = Σ_k r_k (x − m_k)/σ², r_k the responsibilities.
      gradient.fill(0);
      for (let k = 0; k < components; k++) {
        const responsibility = Math.exp((logComponent[k] as number) - logDensity);
        for (let i = 0; i < dim; i++) {
          gradient[i] =
            (gradient[i] as number) +
            (responsibility * ((x[i] as number) - (means[k * dim + i] as number))) / variance;
        }
      }
    }
    return -logDensity + this.offset;
  }

  sample(random: Random, count: number): Float64Array {
    const { dim, scale, means } = this;
    const out = new Float64Array(count * this.dim);
    for (let n = 0; n < count; n++) {
      const k = random.nextInt(this.components);
      for (let i = 0; i < dim; i++)
        out[n * dim + i] = (means[k * dim + i] as number) + scale * random.nextNormal();
    }
    return out;
  }
}

export function createGmmSystem(raw: GmmSystemParams): SystemPair {
  const params = resolveGmm(raw);
  const state = (end: typeof params.a) =>
    new MixtureState(params.dim, end.components, end.scale, params.loc_scaling, end.seed, end.offset);
  const a = state(params.a);
  const b = state(params.b);
  return {
    name: 'gmm',
    dim: params.dim,
    a,
    b,
    reference: { deltaF: params.b.offset - params.a.offset, kind: 'analytic' },
  };
}
