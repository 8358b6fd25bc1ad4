// φ⁴ on an L × L periodic lattice, FEAT's energy/phi4.py convention (d = L²):
//   U(φ) = (β/2 + 4) Σ_x φ_x² + (γ/16) Σ_x φ_x⁴ − 2 Σ_x Σ_{μ=1,2} φ_x φ_{x+μ}.
// Two pairs with known answers:
// - umbrella: U ± κ(m̄ ∓ c)² on the mean magnetisation m̄, windows at +c (state a) and −c (state b); φ → −φ
//   maps one onto the other, so ΔF = 0 exactly. Neither has an exact sampler: MALA inside the job.
// - free field (γ = 0, β > 0): U = ½ φᵀKφ, K = (β + 8)I − 2A, eigenvalues β + 8 − 4cos(2πk₁/L) − 4cos(2πk₂/L),
//   log Z = (d/2) log 2π − ½ Σ log λ_k, across two values of β; exact Gaussian samples.
import { type Static, Type } from '@sinclair/typebox';
import type { Random } from '../../../lib/random.js';
import type { EndState, SystemPair } from './end-state.js';
import { GaussianState } from './gaussian-state.js';

const Side = Type.Optional(Type.Integer({ minimum: 3, maximum: 16, default: 8, description: 'L; d = L².' }));

export const PHI4_UMBRELLA_DEFAULTS = { side: 8, beta: -2, gamma: 12.8, kappa: 5, center: 0.6 };

export const Phi4UmbrellaSchema = Type.Object(
  {
    name: Type.Literal('phi4_umbrella'),
    side: Side,
    beta: Type.Optional(Type.Number({ minimum: -100, maximum: 100, default: PHI4_UMBRELLA_DEFAULTS.beta })),
    gamma: Type.Optional(Type.Number({ minimum: 0, maximum: 1000, default: PHI4_UMBRELLA_DEFAULTS.gamma })),
    kappa: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e6,
        default: PHI4_UMBRELLA_DEFAULTS.kappa,
        description: 'Umbrella strength κ in κ(m̄ ∓ c)².',
      }),
    ),
    center: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 10,
        default: PHI4_UMBRELLA_DEFAULTS.center,
        description: 'c: state a is the window at +c, state b the window at −c.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Phi4UmbrellaParams = Static<typeof Phi4UmbrellaSchema>;

export const Phi4FreeSchema = Type.Object(
  {
    name: Type.Literal('phi4_free'),
    side: Side,
    beta_a: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 1 })),
    beta_b: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 2 })),
  },
  { additionalProperties: false },
);
export type Phi4FreeParams = Static<typeof Phi4FreeSchema>;

export function resolvePhi4Umbrella(params: Phi4UmbrellaParams) {
  return { ...PHI4_UMBRELLA_DEFAULTS, ...params, name: 'phi4_umbrella' as const };
}

export class Phi4State implements EndState {
  readonly dim: number;

  constructor(
    readonly side: number,
    readonly beta: number,
    readonly gamma: number,
    readonly kappa = 0,
    readonly center = 0,
  ) {
    this.dim = side * side;
  }

  energy(phi: Float64Array, gradient?: Float64Array): number {
    const { side, beta, gamma, dim } = this;
    let quadratic = 0;
    let quartic = 0;
    let hopping = 0;
    let magnetisation = 0;
    for (let row = 0; row < side; row++) {
      for (let column = 0; column < side; column++) {
        const x = row * side + column;
        const value = phi[x] as number;
        const right = phi[row * side + ((column + 1) % side)] as number;
        const down = phi[((row + 1) % side) * side + column] as number;
        quadratic += value * value;
        quartic += value ** 4;
        hopping += value * (right + down);
        magnetisation += value;
        if (gradient !== undefined) {
          const left = phi[row * side + ((column + side - 1) % side)] as number;
          const up = phi[((row + side - 1) % side) * side + column] as number;
          gradient[x] = (beta + 8) * value + (gamma / 4) * value ** 3 - 2 * (right + down + left + up);
        }
      }
    }
    const shift = magnetisation / dim - this.center;
    if (gradient !== undefined && this.kappa !== 0) {
      const push = (2 * this.kappa * shift) / dim;
      for (let x = 0; x < dim; x++) gradient[x] = (gradient[x] as number) + push;
    }
    return (beta / 2 + 4) * quadratic + (gamma / 16) * quartic - 2 * hopping + this.kappa * shift * shift;
  }

  /** Chains start at the window's centre: φ ≡ c (the ordered phase the window selects). */
  mcmcStart(_random: Random, count: number): Float64Array {
    return new Float64Array(count * this.dim).fill(this.center);
  }
}

/** Σ_k log λ_k(K) for K = (β + 8)I − 2A on the L × L torus, from its Fourier eigenvalues. */
export function freeFieldLogDeterminant(side: number, beta: number): number {
  let sum = 0;
  for (let k1 = 0; k1 < side; k1++) {
    for (let k2 = 0; k2 < side; k2++) {
      sum += Math.log(
        beta + 8 - 4 * Math.cos((2 * Math.PI * k1) / side) - 4 * Math.cos((2 * Math.PI * k2) / side),
      );
    }
  }
  return sum;
}

/** K = (β + 8)I − 2A as a dense matrix (A counts a neighbour twice when L < 3; L ≥ 3 here). */
export function freeFieldPrecision(side: number, beta: number): Float64Array {
  const dim = side * side;
  const precision = new Float64Array(dim * dim);
  for (let row = 0; row < side; row++) {
    for (let column = 0; column < side; column++) {
      const x = row * side + column;
      precision[x * dim + x] = beta + 8;
      const neighbours = [
        row * side + ((column + 1) % side),
        row * side + ((column + side - 1) % side),
        ((row + 1) % side) * side + column,
        ((row + side - 1) % side) * side + column,
      ];
      for (const y of neighbours) precision[x * dim + y] = (precision[x * dim + y] as number) - 2;
    }
  }
  return precision;
}

/** The free field: energy on the lattice (O(d)), exact samples and moments from the dense Gaussian. */
export class FreeFieldState extends Phi4State {
  readonly logPartition: number;
  private readonly dense: GaussianState;

  constructor(side: number, beta: number) {
    super(side, beta, 0);
    this.dense = new GaussianState(
      this.dim,
      new Float64Array(this.dim),
      freeFieldPrecision(side, beta),
      0,
      'precision',
    );
    this.logPartition = (this.dim / 2) * Math.log(2 * Math.PI) - 0.5 * freeFieldLogDeterminant(side, beta);
  }

  get gaussian() {
    return this.dense.gaussian;
  }

  sample(random: Random, count: number): Float64Array {
    return this.dense.sample(random, count);
  }
}

export function createPhi4Umbrella(raw: Phi4UmbrellaParams): SystemPair {
  const p = resolvePhi4Umbrella(raw);
  const a = new Phi4State(p.side, p.beta, p.gamma, p.kappa, p.center);
  const b = new Phi4State(p.side, p.beta, p.gamma, p.kappa, -p.center);
  return { name: 'phi4_umbrella', dim: a.dim, a, b, reference: { deltaF: 0, kind: 'symmetry' } };
}

export function createPhi4Free(params: Phi4FreeParams): SystemPair {
  const side = params.side ?? 8;
  const a = new FreeFieldState(side, params.beta_a ?? 1);
  const b = new FreeFieldState(side, params.beta_b ?? 2);
  return {
    name: 'phi4_free',
    dim: a.dim,
    a,
    b,
    reference: { deltaF: a.logPartition - b.logPartition, kind: 'analytic' },
  };
}
