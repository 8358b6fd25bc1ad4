// The minimax.markov-game job type: its params schema and checks are the solver's own (src/solvers).
import { MinimaxMarkovGameParams, resolveMarkovParams } from '../../solvers/minimax/markov-params.js';
import type { JobSpec } from '../job-type.js';

export const minimaxMarkovGameJob: JobSpec<typeof MinimaxMarkovGameParams> = {
  type: 'minimax.markov-game',
  summary:
    'A KL-regularised two-player zero-sum Markov game with continuous actions (Kim et al. 2024, application): ' +
    'MFL-DA, MFL-AG or MFL-ABR in every state with Shapley value updates; the exact Nash gap by dynamic ' +
    'programming against the equilibrium the job solves by Shapley iteration; convergence.svg.',
  params: MinimaxMarkovGameParams,
  check: (params) => {
    resolveMarkovParams(params);
  },
};
