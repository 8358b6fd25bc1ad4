// DW-4, the Boltzmann-generator benchmark of four particles in the plane with a double-well pair potential
// (Köhler, Klein, Noé, "Equivariant Flows", ICML 2020, arXiv 2006.02425: a = 0, b = −4, c = 0.9, d₀ = 4,
// τ = 1), switched on between two thermodynamic states, as FEAT's particle systems switch their Lennard-Jones
// interaction from ε = 0 to 1 (jiajunhe98/FEAT, utils.py get_target, energy/lj.py):
//   U_λ(x) = ½κ Σ_i |x_i − x̄|² + λ·½τ Σ_{i<j} [a(r_ij − d₀) + b(r_ij − d₀)² + c(r_ij − d₀)⁴],  a: λ = 0, b: λ = 1.
// Both are invariant under translations, rotations and permutations of the particles, so they live on the
// mean-free subspace (2·4 − 2 = 6 dimensions): a is the isotropic Gaussian of precision κ there (exact
// samples: N(0, I/κ) projected), b has no exact sampler (MALA chains from a's samples). ΔF is known from a
// long independent thermodynamic-integration run (training/feat_dw4_reference.py), recorded below.
import { type Static, Type } from '@sinclair/typebox';
import type { Random } from '../../../lib/random.js';
import { type EndState, removeMean, type SystemPair } from './end-state.js';

export const DW4 = { particles: 4, spatial: 2, a: 0, b: -4, c: 0.9, d0: 4, tau: 1 } as const;
/** κ of the harmonic term of both states, FEAT's oscillator term at DW-4's length scale (d₀ = 4). */
export const DW4_HARMONIC = 0.25;

/**
 * ΔF = F_b − F_a from training/feat_dw4_reference.py (results in training/results/feat-dw4-reference.json):
 * thermodynamic integration over 48 Gauss–Legendre nodes in s (λ = s³), 1 000 MALA chains per node, 2 500
 * steps after 1 500 of burn-in; the CI is ±1.96 standard errors from the spread of the independent chains.
 * Checks on the same run: 24 nodes −6.3512, BAR between neighbouring nodes −6.3513, and FEP from 2·10⁷ exact
 * samples of a −6.3499 ± 0.0035.
 */
export const DW4_REFERENCE = {
  deltaF: -6.3513577575226545,
  ci: [-6.35314417424827, -6.349571340797039] as [number, number],
};

export const Dw4SystemSchema = Type.Object(
  { name: Type.Literal('dw4') },
  {
    additionalProperties: false,
    description:
      'DW-4: four particles in 2-D with a harmonic term κ = 0.25, the double-well pair interaction switched ' +
      'from off (a) to on (b); ΔF from a long reference run.',
  },
);
export type Dw4SystemParams = Static<typeof Dw4SystemSchema>;

export class Dw4State implements EndState {
  readonly dim = DW4.particles * DW4.spatial;

  constructor(
    private readonly kappa: number,
    private readonly coupling: number,
  ) {}

  energy(x: Float64Array, gradient?: Float64Array): number {
    const { particles, spatial, a, b, c, d0, tau } = DW4;
    const mean = [0, 0];
    for (let p = 0; p < particles; p++)
      for (let k = 0; k < spatial; k++)
        mean[k] = (mean[k] as number) + (x[p * spatial + k] as number) / particles;
    let energy = 0;
    for (let p = 0; p < particles; p++) {
      for (let k = 0; k < spatial; k++) {
        const centred = (x[p * spatial + k] as number) - (mean[k] as number);
        energy += 0.5 * this.kappa * centred * centred;
        if (gradient !== undefined) gradient[p * spatial + k] = this.kappa * centred;
      }
    }
    if (this.coupling === 0) return energy;
    for (let i = 0; i < particles; i++) {
      for (let j = i + 1; j < particles; j++) {
        const dx = (x[i * spatial] as number) - (x[j * spatial] as number);
        const dy = (x[i * spatial + 1] as number) - (x[j * spatial + 1] as number);
        const r = Math.sqrt(dx * dx + dy * dy);
        const u = r - d0;
        energy += this.coupling * 0.5 * tau * (a * u + b * u * u + c * u ** 4);
        if (gradient !== undefined && r > 0) {
          const slope = (this.coupling * 0.5 * tau * (a + 2 * b * u + 4 * c * u ** 3)) / r;
          gradient[i * spatial] = (gradient[i * spatial] as number) + slope * dx;
          gradient[i * spatial + 1] = (gradient[i * spatial + 1] as number) + slope * dy;
          gradient[j * spatial] = (gradient[j * spatial] as number) - slope * dx;
          gradient[j * spatial + 1] = (gradient[j * spatial + 1] as number) - slope * dy;
        }
      }
    }
    return energy;
  }
}

/** State a: the harmonic term alone, a Gaussian on the mean-free subspace with exact samples. */
class Dw4Harmonic extends Dw4State {
  constructor(private readonly precision: number) {
    super(precision, 0);
  }

  sample(random: Random, count: number): Float64Array {
    const out = new Float64Array(count * this.dim);
    const scale = 1 / Math.sqrt(this.precision);
    for (let i = 0; i < out.length; i++) out[i] = scale * random.nextNormal();
    removeMean(out, DW4.particles, DW4.spatial);
    return out;
  }
}

/** Capped gradient steps that bring a MALA start near one of DW-4's local minima. */
const DESCENT_STEPS = 300;

/**
 * State b: no exact sampler. MALA chains start from unit-scale Gaussian positions relaxed by capped gradient
 * steps on U_b, not from state a's σ = 2: a's far tail and its overlapping pairs sit on quartic walls so steep
 * that chains started there stay stuck once the step size has adapted to the rest (what
 * training/feat_dw4_reference.py found; the same start is used there).
 */
class Dw4Interacting extends Dw4State {
  constructor(kappa: number) {
    super(kappa, 1);
  }

  mcmcStart(random: Random, count: number): Float64Array {
    const out = new Float64Array(count * this.dim);
    for (let i = 0; i < out.length; i++) out[i] = random.nextNormal();
    removeMean(out, DW4.particles, DW4.spatial);
    const gradient = new Float64Array(this.dim);
    for (let row = 0; row < count; row++) {
      const x = out.subarray(row * this.dim, (row + 1) * this.dim);
      for (let step = 0; step < DESCENT_STEPS; step++) {
        this.energy(x, gradient);
        let length = 0;
        for (const g of gradient) length += (0.05 * g) ** 2;
        const scale = 0.05 * Math.min(1, 0.2 / (Math.sqrt(length) + 1e-12));
        for (let j = 0; j < this.dim; j++) x[j] = (x[j] as number) - scale * (gradient[j] as number);
      }
    }
    return out;
  }
}

export function createDw4System(_params: Dw4SystemParams): SystemPair {
  const kappa = DW4_HARMONIC;
  return {
    name: 'dw4',
    dim: DW4.particles * DW4.spatial,
    a: new Dw4Harmonic(kappa),
    b: new Dw4Interacting(kappa),
    meanFree: { particles: DW4.particles, spatial: DW4.spatial },
    reference: { deltaF: DW4_REFERENCE.deltaF, kind: 'simulation', ci: DW4_REFERENCE.ci },
  };
}
