// MFGLib's susceptible_infected (Cui & Koeppl 2021): going out (a = 0) infects a susceptible agent with
// probability 0.81·μ_t(I), distancing (a = 1) keeps it susceptible at a cost; the infected recover w.p. 0.3.
import type { Static } from '@sinclair/typebox';
import { type FiniteGame, stateMarginal, type Transition } from '../game.js';
import { EnvSchema, Horizon, Probability } from '../schema-parts.js';

export const SusceptibleInfectedSchema = EnvSchema(
  'susceptible_infected',
  'SIS epidemic with distancing: 2 states, 2 actions.',
  {
    horizon: Horizon(50),
    infection: Probability('P(S → I) per unit infected share when going out.', 0.81),
    recovery: Probability('P(I → S).', 0.3),
  },
);
export type SusceptibleInfectedParams = Static<typeof SusceptibleInfectedSchema>;

export function susceptibleInfected(params: SusceptibleInfectedParams): FiniteGame {
  const infection = params.infection ?? 0.81;
  const recovery = params.recovery ?? 0.3;
  const reward = Float64Array.of(0, -0.5, -1, -1.5);
  return {
    horizon: params.horizon ?? 50,
    states: 2,
    actions: 2,
    initial: Float64Array.from(params.initial ?? [0.4, 0.6]),
    reward: () => reward,
    transition: (_t, law): Transition => {
      const infected = stateMarginal(law, 2, 2)[1] as number;
      const caught = infection * infected;
      // Rows (S, out), (S, distance), (I, out), (I, distance), each over next states S, I.
      return {
        offsets: Int32Array.of(0, 2, 4, 6, 8),
        next: Int32Array.of(0, 1, 0, 1, 0, 1, 0, 1),
        prob: Float64Array.of(1 - caught, caught, 1, 0, recovery, 1 - recovery, recovery, 1 - recovery),
      };
    },
  };
}
