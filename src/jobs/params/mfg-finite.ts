// The mfg.finite job type: its params schema and checks are the solver's own (src/solvers).
import { checkMfgFiniteParams, MfgFiniteParams } from '../../solvers/mfg/finite/params.js';
import type { JobSpec } from '../job-type.js';

export const mfgFiniteJob: JobSpec<typeof MfgFiniteParams> = {
  type: 'mfg.finite',
  summary:
    'Solves a finite-horizon mean-field game (MFGLib convention; crowd_modelling also in OpenSpiel-compatible ' +
    'mode; or your own as tables, env.name tabular) with OMD, fictitious play, prior descent, fixed point or Boltzmann policy iteration; exploitability ' +
    'after every iteration, final policy and mean field (artifact solution.json).',
  params: MfgFiniteParams,
  check: (params) => {
    checkMfgFiniteParams(params);
  },
};
