// The mfg.finite game catalog: each game's params schema and constructor, by name.

import { tabularGame } from '../../tabular/game.js';
import type { TabularGameParams } from '../../tabular/schema.js';
import { TabularFiniteSchema } from '../../tabular/schema.js';
import type { FiniteGame } from '../game.js';
import { BeachBarSchema, beachBar } from './beach-bar.js';
import { BuildingEvacuationSchema, buildingEvacuation } from './building-evacuation.js';
import {
  ConservativeTreasureHuntingSchema,
  conservativeTreasureHunting,
} from './conservative-treasure-hunting.js';
import { CrowdModellingSchema, crowdModelling } from './crowd-modelling.js';
import { EquilibriumPriceSchema, equilibriumPrice } from './equilibrium-price.js';
import { LeftRightSchema, leftRight } from './left-right.js';
import { LinearQuadraticSchema, linearQuadratic } from './linear-quadratic.js';
import { RockPaperScissorsSchema, rockPaperScissors } from './rock-paper-scissors.js';
import { SusceptibleInfectedSchema, susceptibleInfected } from './susceptible-infected.js';

export const ENV_SCHEMAS = [
  LeftRightSchema,
  RockPaperScissorsSchema,
  SusceptibleInfectedSchema,
  BeachBarSchema,
  LinearQuadraticSchema,
  ConservativeTreasureHuntingSchema,
  EquilibriumPriceSchema,
  BuildingEvacuationSchema,
  CrowdModellingSchema,
  TabularFiniteSchema,
];

export type EnvParams =
  | Parameters<typeof leftRight>[0]
  | Parameters<typeof rockPaperScissors>[0]
  | Parameters<typeof susceptibleInfected>[0]
  | Parameters<typeof beachBar>[0]
  | Parameters<typeof linearQuadratic>[0]
  | Parameters<typeof conservativeTreasureHunting>[0]
  | Parameters<typeof equilibriumPrice>[0]
  | Parameters<typeof buildingEvacuation>[0]
  | Parameters<typeof crowdModelling>[0]
  | (TabularGameParams & { name: 'tabular'; horizon: number });

export function createGame(params: EnvParams): FiniteGame {
  switch (params.name) {
    case 'left_right':
      return leftRight(params);
    case 'rock_paper_scissors':
      return rockPaperScissors(params);
    case 'susceptible_infected':
      return susceptibleInfected(params);
    case 'beach_bar':
      return beachBar(params);
    case 'linear_quadratic':
      return linearQuadratic(params);
    case 'conservative_treasure_hunting':
      return conservativeTreasureHunting(params);
    case 'equilibrium_price':
      return equilibriumPrice(params);
    case 'building_evacuation':
      return buildingEvacuation(params);
    case 'crowd_modelling':
      return crowdModelling(params);
    case 'tabular':
      return tabularGame(params, params.horizon);
  }
}
