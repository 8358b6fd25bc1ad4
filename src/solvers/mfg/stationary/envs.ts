// The mfg.pma game catalog: MFGLib's susceptible_infected and beach_bar in stationary form (the same
// rewards and kernels, no horizon; μ is the population's state law, not a law at time t), and the user's
// own game in the tabular family without times.
import type { Static } from '@sinclair/typebox';
import { BeachBarSchema, beachBar } from '../finite/envs/beach-bar.js';
import { SusceptibleInfectedSchema, susceptibleInfected } from '../finite/envs/susceptible-infected.js';
import { EnvSchema } from '../finite/schema-parts.js';
import { tabularGame, tabularKernelDependsOnLaw } from '../tabular/game.js';
import { type TabularGameParams, TabularStationarySchema } from '../tabular/schema.js';
import { type StationaryGame, stationaryFrom } from './game.js';

const {
  horizon: _sisHorizon,
  name: _sisName,
  initial: _sisInitial,
  ...sisProperties
} = SusceptibleInfectedSchema.properties;
const {
  horizon: _barHorizon,
  name: _barName,
  initial: _barInitial,
  ...barProperties
} = BeachBarSchema.properties;

export const StationaryEnvSchemas = [
  EnvSchema(
    'susceptible_infected',
    'Stationary SIS epidemic with distancing: 2 states (S, I), 2 actions (go out, distance).',
    sisProperties,
  ),
  EnvSchema(
    'beach_bar',
    'Stationary beach bar on a clipped line of positions, 3 actions (left, stay, right).',
    barProperties,
  ),
  TabularStationarySchema,
];
export type StationaryEnvParams =
  | Static<(typeof StationaryEnvSchemas)[0]>
  | Static<(typeof StationaryEnvSchemas)[1]>
  | (TabularGameParams & { name: 'tabular' });

export function createStationaryGame(params: StationaryEnvParams, discount: number): StationaryGame {
  switch (params.name) {
    case 'susceptible_infected':
      return stationaryFrom(susceptibleInfected({ ...params, horizon: 1 }), discount, false);
    case 'beach_bar':
      // The kernel is a fixed random walk; only the crowding reward depends on μ.
      return stationaryFrom(beachBar({ ...params, horizon: 1 }), discount, true);
    case 'tabular':
      return stationaryFrom(tabularGame(params, 1), discount, !tabularKernelDependsOnLaw(params));
  }
}
