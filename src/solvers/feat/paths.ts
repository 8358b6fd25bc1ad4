// The discrete forward–backward path weights of FEAT (arXiv 2504.11516; jiajunhe98/FEAT
// sampling.py::Jarzynski_integrate; no divergence, no ∂_tU). On the uniform grid t_k = k/K, h = 1/K, forward from x_0 ~ ρ_a:
//   x_{k+1} = x_k + h(b_k + ε s_k)(x_k) + √(2hε) ξ_k
//   A_F = −U_a(x_0) … written with unnormalised densities: A_F = U_a(x_0) − U_b(x_K)
//         + Σ_k [log N(x_k; x_{k+1} − h b_{k+1}(x_{k+1}) + hε s_{k+1}(x_{k+1}), 2hε) − log N(x_{k+1}; forward mean, 2hε)]
// with E_F[e^{A_F}] = Z_b/Z_a exactly for any b, s, h. The reverse process from y_K ~ ρ_b uses drift −b + εs and
// gives A_R with E_R[e^{A_R}] = Z_a/Z_b. The Gaussian normalisers cancel (equal variances); the forward
// kernel's term is −|ξ|²/2. Each direction costs K + 1 field evaluations per path (b_{k+1}, s_{k+1} are reused).
import type { Random } from '../../lib/random.js';
import type { Evaluations } from './counters.js';
import { removeMean, type SystemPair } from './systems/end-state.js';
import type { Transport } from './transport.js';

export interface PathSettings {
  steps: number;
  eps: number;
}

export type Direction = 'forward' | 'reverse';

/**
 * Log path weights of `count` paths started at `start` (count × d, consumed): A_F for 'forward' (from ρ_a),
 * A_R for 'reverse' (from ρ_b). `onStep(k)` runs after every integration step (progress, cancellation).
 */
export async function pathLogWeights(
  direction: Direction,
  pair: SystemPair,
  transport: Transport,
  start: Float64Array,
  count: number,
  settings: PathSettings,
  random: Random,
  evaluations: Evaluations,
  onStep: (step: number) => Promise<void>,
): Promise<Float64Array> {
  const d = pair.dim;
  const { steps, eps } = settings;
  const h = 1 / steps;
  const noise = Math.sqrt(2 * h * eps);
  const forward = direction === 'forward';
  // Forward paths go a → b with drift +b + εs; reverse paths go b → a with drift −b + εs.
  const sign = forward ? 1 : -1;
  const [first, last] = forward ? [pair.a, pair.b] : [pair.b, pair.a];
  const weights = new Float64Array(count);
  let x: Float64Array = start;
  for (let i = 0; i < count; i++) weights[i] = first.energy(x.subarray(i * d, (i + 1) * d));
  let b: Float64Array = new Float64Array(count * d);
  let s: Float64Array = new Float64Array(count * d);
  let next: Float64Array = new Float64Array(count * d);
  let bNext: Float64Array = new Float64Array(count * d);
  let sNext: Float64Array = new Float64Array(count * d);
  const timeAt = (k: number) => (forward ? k / steps : 1 - k / steps);
  const xi = new Float64Array(d);
  await transport.fields(timeAt(0), x, count, b, s);
  for (let k = 0; k < steps; k++) {
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < d; j++) xi[j] = random.nextNormal();
      // Particles: the noise stays in the mean-free subspace where the states live (b and s are mean-free
      // there too), so both kernels are Gaussians of that subspace and their normalisers cancel.
      if (pair.meanFree !== undefined) removeMean(xi, pair.meanFree.particles, pair.meanFree.spatial);
      let squaredNoise = 0;
      for (let j = 0; j < d; j++) {
        const value = xi[j] as number;
        squaredNoise += value * value;
        const at = i * d + j;
        next[at] =
          (x[at] as number) + h * (sign * (b[at] as number) + eps * (s[at] as number)) + noise * value;
      }
      weights[i] = (weights[i] as number) + 0.5 * squaredNoise;
    }
    await transport.fields(timeAt(k + 1), next, count, bNext, sNext);
    for (let i = 0; i < count; i++) {
      let squared = 0;
      for (let j = i * d; j < (i + 1) * d; j++) {
        const backMean =
          (next[j] as number) - h * sign * (bNext[j] as number) + h * eps * (sNext[j] as number);
        const difference = (x[j] as number) - backMean;
        squared += difference * difference;
      }
      weights[i] = (weights[i] as number) - squared / (4 * h * eps);
    }
    [x, next] = [next, x];
    [b, bNext] = [bNext, b];
    [s, sNext] = [sNext, s];
    await onStep(k + 1);
  }
  for (let i = 0; i < count; i++)
    weights[i] = (weights[i] as number) - last.energy(x.subarray(i * d, (i + 1) * d));
  evaluations.potential += count;
  return weights;
}
