// Float64Array kernels over a set of points (particles or grid cells) for the finite-feature objectives: the
// cos/sin table of every ω_k·z, feature means, the contraction with A, and the value and gradient of a
// potential V(z) = Σ_j c_j φ_j(z). One step of N particles is O(N·K); nothing here is pairwise.
import { type BilinearObjective, featureCount } from './objectives.js';

/** cos(ω_k·z_i) and sin(ω_k·z_i), row-major N × K, for `count` points of `points` (N × dimension). */
export interface TrigTable {
  cos: Float64Array;
  sin: Float64Array;
}

export function createTrigTable(objective: BilinearObjective, count: number): TrigTable {
  const frequencyCount = objective.frequencies.length / objective.dimension;
  return { cos: new Float64Array(count * frequencyCount), sin: new Float64Array(count * frequencyCount) };
}

export function fillTrig(
  objective: BilinearObjective,
  points: Float64Array,
  count: number,
  table: TrigTable,
): void {
  const d = objective.dimension;
  const omega = objective.frequencies;
  const frequencyCount = omega.length / d;
  const { cos, sin } = table;
  if (d === 1 && frequencyCount === 1) {
    const w = omega[0] as number;
    for (let i = 0; i < count; i++) {
      const phase = w * (points[i] as number);
      cos[i] = Math.cos(phase);
      sin[i] = Math.sin(phase);
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < frequencyCount; k++) {
      let phase = 0;
      for (let c = 0; c < d; c++) phase += (omega[k * d + c] as number) * (points[i * d + c] as number);
      cos[i * frequencyCount + k] = Math.cos(phase);
      sin[i * frequencyCount + k] = Math.sin(phase);
    }
  }
}

/**
 * E[φ] under the points: uniform weights 1/count (particles) or the given probability weights (a measure on
 * grid cells). `out` has 2K + 1 entries.
 */
export function featureMeans(
  objective: BilinearObjective,
  table: TrigTable,
  count: number,
  out: Float64Array,
  weights?: Float64Array,
): void {
  const frequencyCount = objective.frequencies.length / objective.dimension;
  out.fill(0);
  out[0] = 1;
  const { cos, sin } = table;
  for (let k = 0; k < frequencyCount; k++) {
    let sumCos = 0;
    let sumSin = 0;
    if (weights === undefined) {
      for (let i = 0; i < count; i++) {
        sumCos += cos[i * frequencyCount + k] as number;
        sumSin += sin[i * frequencyCount + k] as number;
      }
      sumCos /= count;
      sumSin /= count;
    } else {
      for (let i = 0; i < count; i++) {
        const w = weights[i] as number;
        sumCos += w * (cos[i * frequencyCount + k] as number);
        sumSin += w * (sin[i * frequencyCount + k] as number);
      }
    }
    out[2 * k + 1] = sumCos;
    out[2 * k + 2] = sumSin;
  }
}

/**
 * The coefficients of the first variation seen by one player, given the other's feature means m:
 * for the min player δL/δμ(x) = ∫Q(x, y)dν(y) = Σ_j (A m_ν)_j φ_j(x); for the max player
 * δL/δν(y) = Σ_k (Aᵀ m_μ)_k φ_k(y).
 */
export function firstVariationCoefficients(
  objective: BilinearObjective,
  otherMeans: Float64Array,
  player: 'min' | 'max',
  out: Float64Array,
): void {
  const size = featureCount(objective);
  const a = objective.coefficients;
  for (let j = 0; j < size; j++) {
    let sum = 0;
    for (let k = 0; k < size; k++) {
      sum +=
        (player === 'min' ? (a[j * size + k] as number) : (a[k * size + j] as number)) *
        (otherMeans[k] as number);
    }
    out[j] = sum;
  }
}

/** ∇V(z_i) for V = Σ_j c_j φ_j, row-major count × dimension. */
export function potentialGradients(
  objective: BilinearObjective,
  table: TrigTable,
  count: number,
  coefficients: Float64Array,
  out: Float64Array,
): void {
  const d = objective.dimension;
  const omega = objective.frequencies;
  const frequencyCount = omega.length / d;
  const { cos, sin } = table;
  if (d === 1 && frequencyCount === 1) {
    const w = omega[0] as number;
    const cosWeight = -w * (coefficients[1] as number);
    const sinWeight = w * (coefficients[2] as number);
    for (let i = 0; i < count; i++) out[i] = cosWeight * (sin[i] as number) + sinWeight * (cos[i] as number);
    return;
  }
  out.fill(0, 0, count * d);
  for (let k = 0; k < frequencyCount; k++) {
    const cosWeight = coefficients[2 * k + 1] as number;
    const sinWeight = coefficients[2 * k + 2] as number;
    if (cosWeight === 0 && sinWeight === 0) continue;
    for (let i = 0; i < count; i++) {
      const slope =
        -cosWeight * (sin[i * frequencyCount + k] as number) +
        sinWeight * (cos[i * frequencyCount + k] as number);
      for (let c = 0; c < d; c++)
        out[i * d + c] = (out[i * d + c] as number) + slope * (omega[k * d + c] as number);
    }
  }
}

/** V(z_i) for V = Σ_j c_j φ_j. */
export function potentialValues(
  objective: BilinearObjective,
  table: TrigTable,
  count: number,
  coefficients: Float64Array,
  out: Float64Array,
): void {
  const frequencyCount = objective.frequencies.length / objective.dimension;
  const { cos, sin } = table;
  const constant = coefficients[0] as number;
  for (let i = 0; i < count; i++) {
    let sum = constant;
    for (let k = 0; k < frequencyCount; k++) {
      sum +=
        (coefficients[2 * k + 1] as number) * (cos[i * frequencyCount + k] as number) +
        (coefficients[2 * k + 2] as number) * (sin[i * frequencyCount + k] as number);
    }
    out[i] = sum;
  }
}

/** L(μ, ν) = m_μᵀ A m_ν from the two players' feature means. */
export function bilinearValue(
  objective: BilinearObjective,
  minMeans: Float64Array,
  maxMeans: Float64Array,
): number {
  const size = featureCount(objective);
  let sum = 0;
  for (let j = 0; j < size; j++)
    for (let k = 0; k < size; k++)
      sum +=
        (minMeans[j] as number) * (objective.coefficients[j * size + k] as number) * (maxMeans[k] as number);
  return sum;
}
