// The catalog of bilinear games L(μ, ν) = ∫∫ Q(x, y) dμ(x) dν(y) for the minimax jobs (Kim et al. 2024 §1.4 of
// our notes; Lu 2023 uses the same class with entropy). Every objective here is finite-feature: with the real
// Fourier dictionary φ(x) = (1, cos ω_1·x, sin ω_1·x, …, cos ω_K·x, sin ω_K·x) shared by both players,
//   Q(x, y) = φ(x)ᵀ A φ(y),
// so the drift of N particles costs O(N·K) through feature means instead of O(N²) pairs. Each objective also
// keeps a direct closed form of Q and its gradients, which the tests and the pairwise baseline use to check
// the feature form.

export type ObjectiveParams =
  | { name: 'mm1d' }
  | { name: 'mm2d' }
  | { name: 'features'; dimension: number; frequencies: number[][]; coefficients: number[][] };

export interface BilinearObjective {
  name: string;
  dimension: number;
  /** K frequency vectors ω_k, row-major K × dimension. */
  frequencies: Float64Array;
  /** A, row-major (2K + 1) × (2K + 1): Q(x, y) = Σ_jk A_jk φ_j(x) φ_k(y). */
  coefficients: Float64Array;
  /** Q(x, y) evaluated directly, not through the features. */
  value(x: ArrayLike<number>, y: ArrayLike<number>): number;
  /** ∇ₓQ(x, y) and ∇_yQ(x, y), written into `out` (length dimension), evaluated directly. */
  gradientX(x: ArrayLike<number>, y: ArrayLike<number>, out: Float64Array): void;
  gradientY(x: ArrayLike<number>, y: ArrayLike<number>, out: Float64Array): void;
  /** All frequencies are integers, so Q is 2π-periodic in every coordinate (the torus jobs need that). */
  periodic: boolean;
}

/** Number of features 2K + 1 of an objective. */
export function featureCount(objective: BilinearObjective): number {
  return 2 * (objective.frequencies.length / objective.dimension) + 1;
}

/** φ_j(x) for every j, written into `out` (length 2K + 1). */
export function featuresAt(objective: BilinearObjective, x: ArrayLike<number>, out: Float64Array): void {
  const d = objective.dimension;
  const frequencyCount = objective.frequencies.length / d;
  out[0] = 1;
  for (let k = 0; k < frequencyCount; k++) {
    let phase = 0;
    for (let c = 0; c < d; c++) phase += (objective.frequencies[k * d + c] as number) * (x[c] as number);
    out[2 * k + 1] = Math.cos(phase);
    out[2 * k + 2] = Math.sin(phase);
  }
}

/**
 * A bound on the Lipschitz constant of x ↦ ∇ₓ∫Q(x, y)dν(y) for every ν (and of the y-side likewise):
 * |∂²(A_jk φ_j φ_k)| ≤ |A_jk|·|ω_j|² because |φ| ≤ 1, summed over the terms. The step-size rule uses it.
 */
export function gradientLipschitz(objective: BilinearObjective): number {
  const d = objective.dimension;
  const size = featureCount(objective);
  const squaredNorm = (j: number) => {
    if (j === 0) return 0;
    const k = (j - 1) >> 1;
    let sum = 0;
    for (let c = 0; c < d; c++) sum += (objective.frequencies[k * d + c] as number) ** 2;
    return sum;
  };
  let boundX = 0;
  let boundY = 0;
  for (let j = 0; j < size; j++) {
    for (let k = 0; k < size; k++) {
      const a = Math.abs(objective.coefficients[j * size + k] as number);
      boundX += a * squaredNorm(j);
      boundY += a * squaredNorm(k);
    }
  }
  return Math.max(boundX, boundY);
}

/** The feature objective Q(x, y) = φ(x)ᵀAφ(y), with its direct form evaluated from the same sums. */
function featureObjective(
  name: string,
  dimension: number,
  frequencies: number[][],
  coefficients: number[][],
): Omit<BilinearObjective, 'value' | 'gradientX' | 'gradientY'> {
  const size = 2 * frequencies.length + 1;
  const flat = new Float64Array(size * size);
  coefficients.forEach((row, j) => {
    row.forEach((a, k) => {
      flat[j * size + k] = a;
    });
  });
  return {
    name,
    dimension,
    frequencies: Float64Array.from(frequencies.flat()),
    coefficients: flat,
    periodic: frequencies.every((omega) => omega.every(Number.isInteger)),
  };
}

/** MM1D (our notes §4): Q(x, y) = cos(x − y) + 0.5 sin x, one dimension; = cos x cos y + sin x sin y + 0.5 sin x. */
function mm1d(): BilinearObjective {
  return {
    ...featureObjective(
      'mm1d',
      1,
      [[1]],
      [
        [0, 0, 0],
        [0, 1, 0],
        [0.5, 0, 1],
      ],
    ),
    value: (x, y) => Math.cos((x[0] as number) - (y[0] as number)) + 0.5 * Math.sin(x[0] as number),
    gradientX: (x, y, out) => {
      out[0] = -Math.sin((x[0] as number) - (y[0] as number)) + 0.5 * Math.cos(x[0] as number);
    },
    gradientY: (x, y, out) => {
      out[0] = Math.sin((x[0] as number) - (y[0] as number));
    },
  };
}

/**
 * MM2D, a two-dimensional game that couples the coordinates:
 * Q(x, y) = cos(x₁ − y₁) + cos(x₂ − y₂) + 0.5 sin x₁ + 0.5 sin x₂ cos y₁.
 */
function mm2d(): BilinearObjective {
  // φ = (1, cos x₁, sin x₁, cos x₂, sin x₂)
  const coefficients = [
    [0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0.5, 0, 1, 0, 0],
    [0, 0, 0, 1, 0],
    [0, 0.5, 0, 0, 1],
  ];
  return {
    ...featureObjective(
      'mm2d',
      2,
      [
        [1, 0],
        [0, 1],
      ],
      coefficients,
    ),
    value: (x, y) => {
      const [x1, x2] = [x[0] as number, x[1] as number];
      const [y1, y2] = [y[0] as number, y[1] as number];
      return Math.cos(x1 - y1) + Math.cos(x2 - y2) + 0.5 * Math.sin(x1) + 0.5 * Math.sin(x2) * Math.cos(y1);
    },
    gradientX: (x, y, out) => {
      const [x1, x2] = [x[0] as number, x[1] as number];
      const [y1, y2] = [y[0] as number, y[1] as number];
      out[0] = -Math.sin(x1 - y1) + 0.5 * Math.cos(x1);
      out[1] = -Math.sin(x2 - y2) + 0.5 * Math.cos(x2) * Math.cos(y1);
    },
    gradientY: (x, y, out) => {
      const [x1, x2] = [x[0] as number, x[1] as number];
      const [y1, y2] = [y[0] as number, y[1] as number];
      out[0] = Math.sin(x1 - y1) - 0.5 * Math.sin(x2) * Math.sin(y1);
      out[1] = Math.sin(x2 - y2);
    },
  };
}

/** A user-given finite-feature game; its direct form sums the features pair by pair. */
function features(dimension: number, frequencies: number[][], coefficients: number[][]): BilinearObjective {
  const base = featureObjective('features', dimension, frequencies, coefficients);
  const size = 2 * frequencies.length + 1;
  const phiX = new Float64Array(size);
  const phiY = new Float64Array(size);
  const objective: BilinearObjective = {
    ...base,
    value: (x, y) => {
      featuresAt(objective, x, phiX);
      featuresAt(objective, y, phiY);
      let sum = 0;
      for (let j = 0; j < size; j++)
        for (let k = 0; k < size; k++)
          sum += (base.coefficients[j * size + k] as number) * (phiX[j] as number) * (phiY[k] as number);
      return sum;
    },
    gradientX: (x, y, out) => featureGradient(objective, x, y, out, 'x'),
    gradientY: (x, y, out) => featureGradient(objective, x, y, out, 'y'),
  };
  return objective;
}

/** ∇ of φ(x)ᵀAφ(y) in x or y, term by term: ∇cos(ω·z) = −ω sin(ω·z), ∇sin(ω·z) = ω cos(ω·z). */
function featureGradient(
  objective: BilinearObjective,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  out: Float64Array,
  side: 'x' | 'y',
): void {
  const d = objective.dimension;
  const size = featureCount(objective);
  const varying = side === 'x' ? x : y;
  const fixed = new Float64Array(size);
  featuresAt(objective, side === 'x' ? y : x, fixed);
  out.fill(0, 0, d);
  for (let k = 0; k < (size - 1) / 2; k++) {
    let phase = 0;
    for (let c = 0; c < d; c++)
      phase += (objective.frequencies[k * d + c] as number) * (varying[c] as number);
    // weight of cos and sin of the varying side: Σ over the fixed side's features
    let weightCos = 0;
    let weightSin = 0;
    for (let m = 0; m < size; m++) {
      const cosEntry = side === 'x' ? (2 * k + 1) * size + m : m * size + 2 * k + 1;
      const sinEntry = side === 'x' ? (2 * k + 2) * size + m : m * size + 2 * k + 2;
      weightCos += (objective.coefficients[cosEntry] as number) * (fixed[m] as number);
      weightSin += (objective.coefficients[sinEntry] as number) * (fixed[m] as number);
    }
    const slope = -weightCos * Math.sin(phase) + weightSin * Math.cos(phase);
    for (let c = 0; c < d; c++)
      out[c] = (out[c] as number) + slope * (objective.frequencies[k * d + c] as number);
  }
}

export function createObjective(params: ObjectiveParams): BilinearObjective {
  switch (params.name) {
    case 'mm1d':
      return mm1d();
    case 'mm2d':
      return mm2d();
    case 'features':
      return features(params.dimension, params.frequencies, params.coefficients);
  }
}
