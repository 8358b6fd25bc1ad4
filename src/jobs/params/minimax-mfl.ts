// The minimax.mfl job type: its params schema and checks are the solver's own (src/solvers).
import { MinimaxMflParams, resolveMflParams } from '../../solvers/minimax/params.js';
import type { JobSpec } from '../job-type.js';

export const minimaxMflJob: JobSpec<typeof MinimaxMflParams> = {
  type: 'minimax.mfl',
  summary:
    'Distributional minimax min_μ max_ν ∫∫Q dμ dν + λKL(μ|ρ) − λKL(ν|ρ) with N particles: mean-field Langevin ' +
    'MFL-DA, MFL-AG (averaged, Kim et al. 2024) or MFL-ABR (anchored best response); NI error on a grid, ' +
    'the three-point proxy, W1 to the grid equilibrium the job solves, histograms (artifact minimax.json).',
  params: MinimaxMflParams,
  check: (params) => {
    resolveMflParams(params);
  },
};
