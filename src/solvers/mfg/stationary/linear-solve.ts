// Dense linear systems for the stationary solvers: Gaussian elimination with partial pivoting on a copy.
// The systems are |S|×|S| with |S| ≤ a few hundred, so O(S³) per solve is the cheap part of an iteration.

/** A pivot below this (relative to the largest entry) means the matrix is singular to float64 precision. */
const SINGULAR = 1e-13;

/**
 * Solves `matrix · x = right` for x, where `matrix` is n×n row-major. Returns undefined when the matrix is
 * singular, so callers can fall back to an iterative method.
 */
export function solveLinear(matrix: Float64Array, right: Float64Array): Float64Array | undefined {
  const n = right.length;
  const a = Float64Array.from(matrix);
  const x = Float64Array.from(right);
  let scale = 0;
  for (const value of a) scale = Math.max(scale, Math.abs(value));
  for (let column = 0; column < n; column++) {
    let pivotRow = column;
    for (let row = column + 1; row < n; row++) {
      if (Math.abs(a[row * n + column] as number) > Math.abs(a[pivotRow * n + column] as number))
        pivotRow = row;
    }
    const pivot = a[pivotRow * n + column] as number;
    if (Math.abs(pivot) <= SINGULAR * scale) return undefined;
    if (pivotRow !== column) {
      for (let k = 0; k < n; k++) {
        const held = a[column * n + k] as number;
        a[column * n + k] = a[pivotRow * n + k] as number;
        a[pivotRow * n + k] = held;
      }
      const held = x[column] as number;
      x[column] = x[pivotRow] as number;
      x[pivotRow] = held;
    }
    for (let row = column + 1; row < n; row++) {
      const factor = (a[row * n + column] as number) / pivot;
      if (factor === 0) continue;
      for (let k = column; k < n; k++)
        a[row * n + k] = (a[row * n + k] as number) - factor * (a[column * n + k] as number);
      x[row] = (x[row] as number) - factor * (x[column] as number);
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    let sum = x[row] as number;
    for (let k = row + 1; k < n; k++) sum -= (a[row * n + k] as number) * (x[k] as number);
    x[row] = sum / (a[row * n + row] as number);
  }
  return x;
}
