// Rumor spreading in the Maki–Thompson style (our definition; the paper's constants are unknown,
// meanfield.md §3). States: ignorant U, spreader S, stifler R. Action 1 = active (an ignorant asks around,
// a spreader tells), 0 = passive.
//   U: becomes a spreader with probability hear·(spreader share), hear = hear_active or hear_passive;
//      pays ignorance_cost per decision time it does not know the rumor, and effort_cost when active.
//   S: active, it gains spread_gain·(ignorant share) (telling someone new) minus effort_cost, and, as in
//      Maki–Thompson, turns stifler with probability stifle·(share who already know: S + R); passive, it
//      neither gains nor risks anything.
//   R: absorbing; pays effort_cost if active (so it never is).
// The neighbourhood field is the state law only, so a spreader's choice does not change its neighbours'
// chance to hear the rumor (the field carries no actions); this keeps the periphery's neighbourhood a
// composition of states.
import type { Static } from '@sinclair/typebox';
import { EnvSchema, Horizon, Probability } from '../../finite/schema-parts.js';
import { Cost, type GraphGame } from '../game.js';

export const RumorSchema = EnvSchema(
  'rumor',
  'Maki–Thompson rumor spreading: states U (ignorant), S (spreader), R (stifler); actions 0 (passive), 1 (active).',
  {
    horizon: Horizon(50, 500),
    hear_active: Probability('P(U → S) per unit spreader share when active.', 0.6),
    hear_passive: Probability('P(U → S) per unit spreader share when passive.', 0.2),
    stifle: Probability('P(S → R) per unit share of S + R when actively spreading.', 0.3),
    spread_gain: Cost('Reward per unit ignorant share for actively spreading.', 1),
    effort_cost: Cost('Cost of action 1.', 0.2),
    ignorance_cost: Cost('Cost per decision time spent ignorant.', 1),
  },
);
export type RumorParams = Static<typeof RumorSchema>;

export function rumor(params: RumorParams): GraphGame {
  const hearActive = params.hear_active ?? 0.6;
  const hearPassive = params.hear_passive ?? 0.2;
  const stifle = params.stifle ?? 0.3;
  const spreadGain = params.spread_gain ?? 1;
  const effortCost = params.effort_cost ?? 0.2;
  const ignoranceCost = params.ignorance_cost ?? 1;
  return {
    name: 'rumor',
    horizon: params.horizon ?? 50,
    states: 3,
    actions: 2,
    stateNames: ['U', 'S', 'R'],
    initial: Float64Array.from(params.initial ?? [0.9, 0.1, 0]),
    transition(state, action, neighbourhood, out) {
      out.fill(0);
      if (state === 0) {
        const heard = (action === 1 ? hearActive : hearPassive) * (neighbourhood[1] as number);
        out[0] = 1 - heard;
        out[1] = heard;
      } else if (state === 1) {
        const stifled =
          action === 1 ? stifle * ((neighbourhood[1] as number) + (neighbourhood[2] as number)) : 0;
        out[1] = 1 - stifled;
        out[2] = stifled;
      } else {
        out[2] = 1;
      }
    },
    reward(state, action, neighbourhood) {
      if (state === 0) return -ignoranceCost - effortCost * action;
      if (state === 1) return action === 1 ? spreadGain * (neighbourhood[0] as number) - effortCost : 0;
      return -effortCost * action;
    },
  };
}
