// The minimax.two-scale-gda job type: its params schema and checks are the solver's own (src/solvers).
import { MinimaxTwoScaleParams, resolveTwoScaleParams } from '../../solvers/minimax/params.js';
import type { JobSpec } from '../job-type.js';

export const minimaxTwoScaleGdaJob: JobSpec<typeof MinimaxTwoScaleParams> = {
  type: 'minimax.two-scale-gda',
  summary:
    'Two-scale mean-field gradient descent–ascent (Lu 2023) on the torus with entropy regularisation at a ' +
    'fixed temperature τ or annealed τ_t = C/log(t + e); NI at τ and unregularised, circle W1 to the grid ' +
    'equilibrium, fitted exponential rate (artifact minimax.json).',
  params: MinimaxTwoScaleParams,
  check: (params) => {
    resolveTwoScaleParams(params);
  },
};
