// Transports for the escorted SDE dX = (b_t + ε s_t) dt + √(2ε) dW (FEAT: He et al., arXiv 2504.11516): the velocity b_t and
// score s_t at a batch of points, all at one time t.
// - none: b = 0, s = −∇U_t on the linear path U_t = (1 − t)U_a + tU_b — plain Jarzynski / AIS with ULA kernels
//   and FB-RND weights, the check that needs no learning.
// - analytic (both ends Gaussian): the exact velocity and score of the stochastic interpolant
//   I_t = α x_a + β x_b + γ z, α = 1 − t, β = t, γ² = a t(1 − t), x_a, x_b, z independent. I_t is Gaussian with
//   mean m_t = αμ_a + βμ_b and covariance C_t = α²Σ_a + β²Σ_b + γ²I, so
//   b_t(x) = ṁ_t + ½Ċ_t C_t⁻¹ (x − m_t), s_t(x) = −C_t⁻¹ (x − m_t), ½Ċ_t = −αΣ_a + βΣ_b + ½a(1 − 2t) I.
// - learned: an ONNX model (the job's processor wraps it in this interface).
import type { Evaluations } from './counters.js';
import { cholesky, inverseFromCholesky } from './linalg.js';
import type { GaussianMoments, SystemPair } from './systems/end-state.js';

/** The interpolant's noise scale a in γ_t² = a t(1 − t) (FEAT's configs: 0.05). */
export const INTERPOLANT_NOISE = 0.05;

export interface Transport {
  kind: 'none' | 'analytic' | 'learned';
  /** Writes b_t(x_i) and s_t(x_i) for the `count` points of `x` (count × d) into `b` and `s`. */
  fields(t: number, x: Float64Array, count: number, b: Float64Array, s: Float64Array): Promise<void>;
}

export function noTransport(pair: SystemPair, evaluations: Evaluations): Transport {
  const d = pair.dim;
  const gradientA = new Float64Array(d);
  const gradientB = new Float64Array(d);
  return {
    kind: 'none',
    async fields(t, x, count, b, s) {
      b.fill(0, 0, count * d);
      for (let i = 0; i < count; i++) {
        const point = x.subarray(i * d, (i + 1) * d);
        pair.a.energy(point, gradientA);
        pair.b.energy(point, gradientB);
        for (let j = 0; j < d; j++) {
          s[i * d + j] = -(1 - t) * (gradientA[j] as number) - t * (gradientB[j] as number);
        }
      }
      evaluations.potential += count;
    },
  };
}

interface TimeFields {
  meanVelocity: Float64Array;
  mean: Float64Array;
  /** ½Ċ_t C_t⁻¹ */
  gain: Float64Array;
  /** C_t⁻¹ */
  precision: Float64Array;
}

function fieldsAt(
  t: number,
  a: GaussianMoments,
  bEnd: GaussianMoments,
  d: number,
  noise: number,
): TimeFields {
  const alpha = 1 - t;
  const beta = t;
  const covariance = new Float64Array(d * d);
  const halfRate = new Float64Array(d * d);
  for (let k = 0; k < d * d; k++) {
    const sa = a.covariance[k] as number;
    const sb = bEnd.covariance[k] as number;
    covariance[k] = alpha * alpha * sa + beta * beta * sb;
    halfRate[k] = -alpha * sa + beta * sb;
  }
  for (let i = 0; i < d; i++) {
    covariance[i * d + i] = (covariance[i * d + i] as number) + noise * t * (1 - t);
    halfRate[i * d + i] = (halfRate[i * d + i] as number) + 0.5 * noise * (1 - 2 * t);
  }
  const factor = cholesky(covariance, d);
  if (factor === undefined) throw new Error(`the interpolant covariance at t = ${t} is singular`);
  const precision = inverseFromCholesky(factor, d);
  const gain = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const left = halfRate[i * d + k] as number;
      if (left === 0) continue;
      for (let j = 0; j < d; j++)
        gain[i * d + j] = (gain[i * d + j] as number) + left * (precision[k * d + j] as number);
    }
  }
  const mean = new Float64Array(d);
  const meanVelocity = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    mean[i] = alpha * (a.mean[i] as number) + beta * (bEnd.mean[i] as number);
    meanVelocity[i] = (bEnd.mean[i] as number) - (a.mean[i] as number);
  }
  return { meanVelocity, mean, gain, precision };
}

/** The exact interpolant transport between two Gaussian end states; undefined when either is not Gaussian. */
export function analyticTransport(
  pair: SystemPair,
  evaluations: Evaluations,
  noise = INTERPOLANT_NOISE,
): Transport | undefined {
  const a = pair.a.gaussian;
  const bEnd = pair.b.gaussian;
  if (a === undefined || bEnd === undefined) return undefined;
  const d = pair.dim;
  const cache = new Map<number, TimeFields>();
  const centred = new Float64Array(d);
  return {
    kind: 'analytic',
    async fields(t, x, count, b, s) {
      let at = cache.get(t);
      if (at === undefined) {
        at = fieldsAt(t, a, bEnd, d, noise);
        cache.set(t, at);
      }
      const { meanVelocity, mean, gain, precision } = at;
      for (let n = 0; n < count; n++) {
        for (let j = 0; j < d; j++) centred[j] = (x[n * d + j] as number) - (mean[j] as number);
        for (let i = 0; i < d; i++) {
          let velocity = meanVelocity[i] as number;
          let score = 0;
          for (let j = 0; j < d; j++) {
            const c = centred[j] as number;
            velocity += (gain[i * d + j] as number) * c;
            score -= (precision[i * d + j] as number) * c;
          }
          b[n * d + i] = velocity;
          s[n * d + i] = score;
        }
      }
      evaluations.field += count;
    },
  };
}
