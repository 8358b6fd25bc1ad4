// A Gaussian end state U(x) = ½(x − μ)ᵀ Σ⁻¹ (x − μ) + c, from its covariance or its precision:
// log Z = (d/2) log 2π + ½ log det Σ − c; exact samples x = μ + L_Σ z.
import type { Random } from '../../../lib/random.js';
import { cholesky, inverseFromCholesky, logDeterminant } from '../linalg.js';
import type { EndState } from './end-state.js';

export class GaussianState implements EndState {
  readonly precision: Float64Array;
  readonly covariance: Float64Array;
  readonly logPartition: number;
  private readonly covarianceFactor: Float64Array;
  private readonly centred: Float64Array;

  /** Throws when the matrix is not positive definite; callers check that first with `cholesky`. */
  constructor(
    readonly dim: number,
    readonly mean: Float64Array,
    matrix: Float64Array,
    readonly offset: number,
    given: 'covariance' | 'precision',
  ) {
    const factor = cholesky(matrix, dim);
    if (factor === undefined) throw new Error(`the ${given} is not positive definite`);
    const inverse = inverseFromCholesky(factor, dim);
    this.covariance = given === 'covariance' ? matrix : inverse;
    this.precision = given === 'covariance' ? inverse : matrix;
    const covarianceFactor = given === 'covariance' ? factor : cholesky(inverse, dim);
    if (covarianceFactor === undefined) throw new Error('the covariance is numerically singular');
    this.covarianceFactor = covarianceFactor;
    this.logPartition =
      (dim / 2) * Math.log(2 * Math.PI) + 0.5 * logDeterminant(covarianceFactor, dim) - offset;
    this.centred = new Float64Array(dim);
  }

  get gaussian() {
    return { mean: this.mean, covariance: this.covariance };
  }

  energy(x: Float64Array, gradient?: Float64Array): number {
    const { dim, precision, centred } = this;
    for (let i = 0; i < dim; i++) centred[i] = (x[i] as number) - (this.mean[i] as number);
    let quadratic = 0;
    for (let i = 0; i < dim; i++) {
      let row = 0;
      for (let j = 0; j < dim; j++) row += (precision[i * dim + j] as number) * (centred[j] as number);
      if (gradient !== undefined) gradient[i] = row;
      quadratic += row * (centred[i] as number);
    }
    return 0.5 * quadratic + this.offset;
  }

  sample(random: Random, count: number): Float64Array {
    const { dim, covarianceFactor } = this;
    const out = new Float64Array(count * dim);
    const z = new Float64Array(dim);
    for (let n = 0; n < count; n++) {
      for (let i = 0; i < dim; i++) z[i] = random.nextNormal();
      for (let i = 0; i < dim; i++) {
        let sum = this.mean[i] as number;
        for (let k = 0; k <= i; k++) sum += (covarianceFactor[i * dim + k] as number) * (z[k] as number);
        out[n * dim + i] = sum;
      }
    }
    return out;
  }
}
