// The grid the ground truth, the NI error and the histograms live on: cells of equal width, `cellsPerAxis`
// per coordinate, either on the box [−halfWidth, halfWidth]^d (Gaussian references, MFL jobs) or on the
// torus [0, 2π)^d (two-scale GDA). A grid measure is a probability weight per cell, placed at the cell centre.

export interface Grid {
  dimension: number;
  cellsPerAxis: number;
  /** Left edge of the first cell on every axis. */
  lower: number;
  cellWidth: number;
  /** cellsPerAxis^dimension; cell index = Σ_c i_c · cellsPerAxis^(dimension−1−c). */
  size: number;
  /** Cell centres, row-major size × dimension. */
  centers: Float64Array;
  periodic: boolean;
}

function makeGrid(
  dimension: number,
  cellsPerAxis: number,
  lower: number,
  upper: number,
  periodic: boolean,
): Grid {
  const cellWidth = (upper - lower) / cellsPerAxis;
  const size = cellsPerAxis ** dimension;
  const centers = new Float64Array(size * dimension);
  for (let cell = 0; cell < size; cell++) {
    let rest = cell;
    for (let c = dimension - 1; c >= 0; c--) {
      centers[cell * dimension + c] = lower + cellWidth * ((rest % cellsPerAxis) + 0.5);
      rest = Math.floor(rest / cellsPerAxis);
    }
  }
  return { dimension, cellsPerAxis, lower, cellWidth, size, centers, periodic };
}

export function boxGrid(dimension: number, cellsPerAxis: number, halfWidth: number): Grid {
  return makeGrid(dimension, cellsPerAxis, -halfWidth, halfWidth, false);
}

export function torusGrid(dimension: number, cellsPerAxis: number): Grid {
  return makeGrid(dimension, cellsPerAxis, 0, 2 * Math.PI, true);
}

/** The cell holding point i of `points`; off the box a point counts in the nearest edge cell. */
export function cellOf(grid: Grid, points: Float64Array, i: number): number {
  const d = grid.dimension;
  const n = grid.cellsPerAxis;
  let cell = 0;
  for (let c = 0; c < d; c++) {
    let index = Math.floor(((points[i * d + c] as number) - grid.lower) / grid.cellWidth);
    if (grid.periodic) index = ((index % n) + n) % n;
    else index = index < 0 ? 0 : index >= n ? n - 1 : index;
    cell = cell * n + index;
  }
  return cell;
}

/** The reference ρ = N(0, std² I) restricted to the grid, as cell weights summing to 1. */
export function gaussianReference(grid: Grid, std: number): Float64Array {
  const weights = new Float64Array(grid.size);
  let total = 0;
  for (let cell = 0; cell < grid.size; cell++) {
    let squared = 0;
    for (let c = 0; c < grid.dimension; c++)
      squared += (grid.centers[cell * grid.dimension + c] as number) ** 2;
    const w = Math.exp(-squared / (2 * std * std));
    weights[cell] = w;
    total += w;
  }
  for (let cell = 0; cell < grid.size; cell++) weights[cell] = (weights[cell] as number) / total;
  return weights;
}

/** The uniform reference (Lebesgue on the torus: entropy regularisation is KL to it up to a constant). */
export function uniformReference(grid: Grid): Float64Array {
  return new Float64Array(grid.size).fill(1 / grid.size);
}
