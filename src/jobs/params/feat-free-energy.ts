// The feat.free-energy job type: its params schema and checks are the solver's own (src/solvers).
import { checkFeatParams, FeatParams } from '../../solvers/feat/params.js';
import type { JobSpec } from '../job-type.js';

export const featFreeEnergyJob: JobSpec<typeof FeatParams> = {
  type: 'feat.free-energy',
  summary:
    'Free-energy difference ΔF = −log(Z_b/Z_a) by FEAT (He et al. 2025): escorted Jarzynski forward and reverse, ' +
    'BAR / controlled Crooks and the variational bounds from forward–backward path weights, with a transport ' +
    'that is none (AIS), analytic (Gaussians) or a learned ONNX model; bootstrap CIs, ESS, work histograms, and ' +
    'FEP, equilibrium BAR, AIS and TI baselines (artifact feat.json).',
  params: FeatParams,
  check: (params, { models }) => {
    checkFeatParams(params, models);
  },
};
