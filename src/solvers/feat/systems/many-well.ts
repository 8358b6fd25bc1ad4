// ManyWell-d (FAB, Midgley et al. 2023): d/2 independent copies of the double well
// U₂(x₁, x₂) = x₁⁴ − 6x₁² − ½x₁ + ½x₂², as state b; state a is N(0, σ²I). log Z_b = (d/2)(log Z₁ + ½ log 2π)
// with Z₁ = ∫ exp(−x⁴ + 6x² + ½x) dx by Simpson's rule on [−6, 6] (20 000 intervals; the integrand is
// below e^{−900} of its peak at the ends), so ΔF is exact to quadrature error. The x₁ marginal is sampled
// by inverting the tabulated CDF (linear between nodes), x₂ exactly.
import { type Static, Type } from '@sinclair/typebox';
import type { FieldError } from '../../../errors.js';
import type { Random } from '../../../lib/random.js';
import type { EndState, SystemPair } from './end-state.js';
import { GaussianState } from './gaussian-state.js';

export const ManyWellSystemSchema = Type.Object(
  {
    name: Type.Literal('many_well'),
    dim: Type.Optional(Type.Integer({ minimum: 2, maximum: 128, default: 32, description: 'Even.' })),
    a_scale: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 100,
        default: 2,
        description: 'σ of state a = N(0, σ²I).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ManyWellSystemParams = Static<typeof ManyWellSystemSchema>;

export function manyWellErrors(params: ManyWellSystemParams, path: string): FieldError[] {
  return (params.dim ?? 32) % 2 === 0 ? [] : [{ path: `${path}/dim`, message: 'must be even' }];
}

const LOW = -6;
const HIGH = 6;
const INTERVALS = 20_000;

function wellPotential(x: number): number {
  return x ** 4 - 6 * x * x - 0.5 * x;
}

interface WellTable {
  logZ: number;
  nodes: Float64Array;
  cumulative: Float64Array;
}

let table: WellTable | undefined;

/** log Z₁ by Simpson's rule and the normalised CDF at the nodes (trapezoids), computed once. */
export function wellTable(): WellTable {
  if (table !== undefined) return table;
  const h = (HIGH - LOW) / INTERVALS;
  const nodes = new Float64Array(INTERVALS + 1);
  const density = new Float64Array(INTERVALS + 1);
  let peak = Infinity;
  for (let i = 0; i <= INTERVALS; i++) {
    nodes[i] = LOW + i * h;
    peak = Math.min(peak, wellPotential(nodes[i] as number));
  }
  let simpson = 0;
  for (let i = 0; i <= INTERVALS; i++) {
    density[i] = Math.exp(peak - wellPotential(nodes[i] as number));
    const weight = i === 0 || i === INTERVALS ? 1 : i % 2 === 1 ? 4 : 2;
    simpson += weight * (density[i] as number);
  }
  const cumulative = new Float64Array(INTERVALS + 1);
  for (let i = 1; i <= INTERVALS; i++) {
    cumulative[i] =
      (cumulative[i - 1] as number) + (h * ((density[i - 1] as number) + (density[i] as number))) / 2;
  }
  const total = cumulative[INTERVALS] as number;
  for (let i = 0; i <= INTERVALS; i++) cumulative[i] = (cumulative[i] as number) / total;
  table = { logZ: Math.log((simpson * h) / 3) - peak, nodes, cumulative };
  return table;
}

function sampleWell(random: Random, { nodes, cumulative }: WellTable): number {
  const u = random.nextUniform();
  let low = 0;
  let high = cumulative.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if ((cumulative[middle] as number) < u) low = middle;
    else high = middle;
  }
  const c0 = cumulative[low] as number;
  const c1 = cumulative[high] as number;
  const fraction = c1 > c0 ? (u - c0) / (c1 - c0) : 0.5;
  return (nodes[low] as number) + fraction * ((nodes[high] as number) - (nodes[low] as number));
}

export class ManyWellState implements EndState {
  readonly logPartition: number;

  constructor(readonly dim: number) {
    this.logPartition = (dim / 2) * (wellTable().logZ + 0.5 * Math.log(2 * Math.PI));
  }

  energy(x: Float64Array, gradient?: Float64Array): number {
    let total = 0;
    for (let i = 0; i < this.dim; i += 2) {
      const x1 = x[i] as number;
      const x2 = x[i + 1] as number;
      total += wellPotential(x1) + 0.5 * x2 * x2;
      if (gradient !== undefined) {
        gradient[i] = 4 * x1 ** 3 - 12 * x1 - 0.5;
        gradient[i + 1] = x2;
      }
    }
    return total;
  }

  sample(random: Random, count: number): Float64Array {
    const wells = wellTable();
    const out = new Float64Array(count * this.dim);
    for (let n = 0; n < count; n++) {
      for (let i = 0; i < this.dim; i += 2) {
        out[n * this.dim + i] = sampleWell(random, wells);
        out[n * this.dim + i + 1] = random.nextNormal();
      }
    }
    return out;
  }
}

export function createManyWellSystem(params: ManyWellSystemParams): SystemPair {
  const dim = params.dim ?? 32;
  const scale = params.a_scale ?? 2;
  const covariance = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) covariance[i * dim + i] = scale * scale;
  const a = new GaussianState(dim, new Float64Array(dim), covariance, 0, 'covariance');
  const b = new ManyWellState(dim);
  return {
    name: 'many_well',
    dim,
    a,
    b,
    reference: { deltaF: a.logPartition - b.logPartition, kind: 'quadrature' },
  };
}
