// SIS and SIR on a graph. SIS uses the constants of the graphon-MFG code (tudkcui/gmfg-learning,
// games/finite/sis.py, meanfield.md §3): P(S→I) = (1 − u)·0.8·(infected share of the neighbourhood),
// P(I→S) = 0.2, reward −2·1{I} − 0.5·u, T = 50, half the agents infected at t = 0. SIR (our definition,
// §3 "What we can ship"): the same infection, I→R with probability ρ, R absorbing.
import type { Static } from '@sinclair/typebox';
import { EnvSchema, Horizon, Probability } from '../../finite/schema-parts.js';
import { Cost, type GraphGame } from '../game.js';

const epidemicProperties = (recovery: number, recoveryText: string) => ({
  horizon: Horizon(50, 500),
  infection: Probability('P(S → I) per unit infected share of the neighbourhood, without precaution.', 0.8),
  recovery: Probability(recoveryText, recovery),
  infected_cost: Cost('Cost per decision time spent infected.', 2),
  precaution_cost: Cost('Cost of taking precaution (action 1) once.', 0.5),
});

export const SisSchema = EnvSchema(
  'sis',
  'SIS epidemic with precaution: states S, I; actions 0 (none), 1 (precaution).',
  epidemicProperties(0.2, 'P(I → S).'),
);
export type SisParams = Static<typeof SisSchema>;

export const SirSchema = EnvSchema(
  'sir',
  'SIR epidemic with precaution: states S, I, R (absorbing); actions 0 (none), 1 (precaution).',
  epidemicProperties(0.1, 'P(I → R) = ρ.'),
);
export type SirParams = Static<typeof SirSchema>;

interface EpidemicConstants {
  horizon: number;
  infection: number;
  recovery: number;
  infectedCost: number;
  precautionCost: number;
}

function constants(params: SisParams | SirParams, recovery: number): EpidemicConstants {
  return {
    horizon: params.horizon ?? 50,
    infection: params.infection ?? 0.8,
    recovery: params.recovery ?? recovery,
    infectedCost: params.infected_cost ?? 2,
    precautionCost: params.precaution_cost ?? 0.5,
  };
}

export function sis(params: SisParams): GraphGame {
  const c = constants(params, 0.2);
  return {
    name: 'sis',
    horizon: c.horizon,
    states: 2,
    actions: 2,
    stateNames: ['S', 'I'],
    initial: Float64Array.from(params.initial ?? [0.5, 0.5]),
    transition(state, action, neighbourhood, out) {
      if (state === 0) {
        const caught = (1 - action) * c.infection * (neighbourhood[1] as number);
        out[0] = 1 - caught;
        out[1] = caught;
      } else {
        out[0] = c.recovery;
        out[1] = 1 - c.recovery;
      }
    },
    reward: (state, action) => -c.infectedCost * (state === 1 ? 1 : 0) - c.precautionCost * action,
  };
}

export function sir(params: SirParams): GraphGame {
  const c = constants(params, 0.1);
  return {
    name: 'sir',
    horizon: c.horizon,
    states: 3,
    actions: 2,
    stateNames: ['S', 'I', 'R'],
    initial: Float64Array.from(params.initial ?? [0.8, 0.2, 0]),
    transition(state, action, neighbourhood, out) {
      out.fill(0);
      if (state === 0) {
        const caught = (1 - action) * c.infection * (neighbourhood[1] as number);
        out[0] = 1 - caught;
        out[1] = caught;
      } else if (state === 1) {
        out[1] = 1 - c.recovery;
        out[2] = c.recovery;
      } else {
        out[2] = 1;
      }
    },
    reward: (state, action) => -c.infectedCost * (state === 1 ? 1 : 0) - c.precautionCost * action,
  };
}
