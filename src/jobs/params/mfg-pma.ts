// The mfg.pma job type: its params schema and checks are the solver's own (src/solvers).
import { checkMfgPmaParams, MfgPmaParams } from '../../solvers/mfg/stationary/params.js';
import type { JobSpec } from '../job-type.js';

export const mfgPmaJob: JobSpec<typeof MfgPmaParams> = {
  type: 'mfg.pma',
  summary:
    'Policy Mirror Ascent (Yardim et al. 2023) on a stationary, discounted, entropy-regularised mean-field ' +
    'game (susceptible_infected, beach_bar, or your own as tables): exact mode with the exploitability and fitted linear rate per ' +
    'iteration, or N independent agents on one sample path learning their Q by TD, with the mean ' +
    "policy's exploitability, the agents' spread and the samples used per epoch (artifact solution.json).",
  params: MfgPmaParams,
  check: (params) => {
    checkMfgPmaParams(params);
  },
};
