// Dense symmetric linear algebra for the Gaussian systems and the analytic transport: row-major d × d
// Float64Arrays, Cholesky factors, inverses and log-determinants. Sizes stay ≤ 256, so O(d³) is cheap.

/** Lower Cholesky factor L (A = L Lᵀ), or undefined when A is not symmetric positive definite. */
export function cholesky(matrix: Float64Array, dim: number): Float64Array | undefined {
  const lower = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * dim + j] as number;
      for (let k = 0; k < j; k++) sum -= (lower[i * dim + k] as number) * (lower[j * dim + k] as number);
      if (i === j) {
        if (!(sum > 0)) return undefined;
        lower[i * dim + i] = Math.sqrt(sum);
      } else {
        lower[i * dim + j] = sum / (lower[j * dim + j] as number);
      }
    }
  }
  return lower;
}

/** log det A from its Cholesky factor. */
export function logDeterminant(lower: Float64Array, dim: number): number {
  let sum = 0;
  for (let i = 0; i < dim; i++) sum += Math.log(lower[i * dim + i] as number);
  return 2 * sum;
}

/** A⁻¹ from the Cholesky factor of A (solves L Lᵀ X = I column by column). */
export function inverseFromCholesky(lower: Float64Array, dim: number): Float64Array {
  const inverse = new Float64Array(dim * dim);
  const column = new Float64Array(dim);
  for (let c = 0; c < dim; c++) {
    column.fill(0);
    column[c] = 1;
    solveLower(lower, dim, column);
    solveLowerTransposed(lower, dim, column);
    for (let r = 0; r < dim; r++) inverse[r * dim + c] = column[r] as number;
  }
  return inverse;
}

/** In place: v ← L⁻¹ v. */
export function solveLower(lower: Float64Array, dim: number, vector: Float64Array): void {
  for (let i = 0; i < dim; i++) {
    let sum = vector[i] as number;
    for (let k = 0; k < i; k++) sum -= (lower[i * dim + k] as number) * (vector[k] as number);
    vector[i] = sum / (lower[i * dim + i] as number);
  }
}

/** In place: v ← L⁻ᵀ v. */
export function solveLowerTransposed(lower: Float64Array, dim: number, vector: Float64Array): void {
  for (let i = dim - 1; i >= 0; i--) {
    let sum = vector[i] as number;
    for (let k = i + 1; k < dim; k++) sum -= (lower[k * dim + i] as number) * (vector[k] as number);
    vector[i] = sum / (lower[i * dim + i] as number);
  }
}

/** The largest |A_ij − A_ji|, to refuse matrices that are not symmetric. */
export function asymmetry(matrix: Float64Array, dim: number): number {
  let worst = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < i; j++) {
      worst = Math.max(worst, Math.abs((matrix[i * dim + j] as number) - (matrix[j * dim + i] as number)));
    }
  }
  return worst;
}
