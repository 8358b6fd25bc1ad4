// Particle measures as grid measures. The NI error needs a density for its KL terms; a plain histogram on
// the fine grid (1 200 cells in 1-D) would see 2 000 particles as spikes and its plug-in KL would be biased
// by about (occupied cells)/(2N) nats. So particles are counted in coarse bins (blocks of fine cells, 48 in
// 1-D by default) and each bin's mass is spread evenly over its fine cells: a piecewise-constant density.
// The NI of that measure is exact for it (it is a measure on the grid), never negative, and its floor is
// reported as the NI of the grid equilibrium after the same coarsening.
import { cellOf, type Grid } from './grid.js';

/** Adds weight/count of each particle to its fine cell. */
export function addParticles(
  grid: Grid,
  points: Float64Array,
  count: number,
  out: Float64Array,
  weight = 1,
): Float64Array {
  const share = weight / count;
  for (let i = 0; i < count; i++) {
    const cell = cellOf(grid, points, i);
    out[cell] = (out[cell] as number) + share;
  }
  return out;
}

export function particleMeasure(grid: Grid, points: Float64Array, count: number): Float64Array {
  return addParticles(grid, points, count, new Float64Array(grid.size));
}

/** Bin index (row-major, binsPerAxis per coordinate) of every fine cell. */
function binOfCell(grid: Grid, binsPerAxis: number): Int32Array {
  const cellsPerBin = grid.cellsPerAxis / binsPerAxis;
  const out = new Int32Array(grid.size);
  for (let cell = 0; cell < grid.size; cell++) {
    let rest = cell;
    let bin = 0;
    let scale = 1;
    for (let c = grid.dimension - 1; c >= 0; c--) {
      bin += Math.floor((rest % grid.cellsPerAxis) / cellsPerBin) * scale;
      scale *= binsPerAxis;
      rest = Math.floor(rest / grid.cellsPerAxis);
    }
    out[cell] = bin;
  }
  return out;
}

/** The mass of every coarse bin (binsPerAxis^dimension entries); binsPerAxis divides cellsPerAxis. */
export function binMasses(grid: Grid, weights: Float64Array, binsPerAxis: number): Float64Array {
  const bins = binOfCell(grid, binsPerAxis);
  const out = new Float64Array(binsPerAxis ** grid.dimension);
  for (let cell = 0; cell < grid.size; cell++) {
    const bin = bins[cell] as number;
    out[bin] = (out[bin] as number) + (weights[cell] as number);
  }
  return out;
}

/** The piecewise-constant measure: each bin's mass spread evenly over its fine cells. */
export function coarsen(grid: Grid, weights: Float64Array, binsPerAxis: number): Float64Array {
  const bins = binOfCell(grid, binsPerAxis);
  const masses = binMasses(grid, weights, binsPerAxis);
  const cellsPerBin = (grid.cellsPerAxis / binsPerAxis) ** grid.dimension;
  const out = new Float64Array(grid.size);
  for (let cell = 0; cell < grid.size; cell++)
    out[cell] = (masses[bins[cell] as number] as number) / cellsPerBin;
  return out;
}
