// The mfg.graphex job type: its params schema and checks are the solver's own (src/solvers).
import { checkMfgGraphexParams, MfgGraphexParams } from '../../solvers/mfg/graphex/params.js';
import type { JobSpec } from '../job-type.js';

export const mfgGraphexJob: JobSpec<typeof MfgGraphexParams> = {
  type: 'mfg.graphex',
  summary:
    'Mean-field game on a sparse graph (Fabian, Cui, Koeppl, ICLR 2024): a sampled separable power-law graphex ' +
    'or an uploaded edge list, split into a core (mirror descent over label classes) and a periphery ' +
    '(backward induction per degree); games sis, sir, rumor. Core and per-degree periphery exploitability per ' +
    'iteration, then Δμ between the predicted and the simulated mean field on the graph (artifact solution.json).',
  params: MfgGraphexParams,
  check: (params) => {
    checkMfgGraphexParams(params);
  },
};
