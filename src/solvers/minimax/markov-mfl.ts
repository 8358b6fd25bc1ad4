// Mean-field Langevin dynamics on the regularised Markov game (markov-game.ts), as Kim et al. (2024) apply
// MFL-AG and MFL-ABR to zero-sum Markov games: in every state both players' particles follow the MFL rule of
// mfl.ts on the stage game Q^V_s, and every `stepsPerRound` Langevin steps the values are updated the way
// Shapley's iteration does, V(s) ← the regularised stage value of the current strategies (MFL-AG: the
// averaged ones) on the grid, and every stage game is rewritten with them. MFL-AG averages its drift and its
// output over all past steps, rounds included: the drift uses the current stage game with the averaged
// opponent measure. The strategies a round ends with are scored by the exact Nash gap (markov-game-values.ts).
import type { Random } from '../../lib/random.js';
import type { Grid } from './grid.js';
import { createGridGame, type GridGame } from './grid-game.js';
import { coarsen, particleMeasure } from './histogram.js';
import { type MarkovGame, setStageCoefficients, stageObjectives } from './markov-game.js';
import { type MflAlgorithm, MflDynamics } from './mfl.js';
import { type GridMeasurePair, regularisedValue } from './nikaido-isoda.js';
import type { BilinearObjective } from './objectives.js';

export interface MarkovMflSettings {
  game: MarkovGame;
  algorithm: MflAlgorithm;
  lambda: number;
  referenceStd: number;
  particles: number;
  h: number;
  /** Langevin steps in every state between two value updates. */
  stepsPerRound: number;
  grid: Grid;
  /** The grid's Gaussian reference (σ = referenceStd), for the values' KL terms. */
  reference: Float64Array;
  /** Histogram bins per axis for the particle densities (divides the grid's cells). */
  bins: number;
}

export class MarkovMfl {
  /** Langevin steps taken in every state so far. */
  steps = 0;
  rounds = 0;
  /** The value estimates the stage games are built from. */
  values: Float64Array;
  private readonly dynamics: MflDynamics[];
  private readonly stages: GridGame[];
  private readonly objectives: BilinearObjective[];

  constructor(
    private readonly settings: MarkovMflSettings,
    random: Random,
  ) {
    const { game, reference, grid } = settings;
    this.values = new Float64Array(game.states);
    this.objectives = stageObjectives(game);
    setStageCoefficients(game, this.values, this.objectives);
    this.stages = this.objectives.map((objective) => createGridGame(objective, grid, reference, reference));
    this.dynamics = this.objectives.map(
      (objective) =>
        new MflDynamics(
          {
            objective,
            algorithm: settings.algorithm,
            lambda: settings.lambda,
            referenceStd: { min: settings.referenceStd, max: settings.referenceStd },
            particles: settings.particles,
            h: settings.h,
            grid,
          },
          random,
        ),
    );
  }

  /** Runs whole rounds until at least `untilStep` steps are done in every state. */
  advance(untilStep: number): void {
    while (this.steps < untilStep) {
      const target = this.steps + this.settings.stepsPerRound;
      for (const dynamics of this.dynamics) dynamics.advance(target);
      this.steps = (this.dynamics[0] as MflDynamics).steps;
      const strategies = this.strategies();
      this.values = Float64Array.from(this.stages, (stage, s) => {
        const { min, max } = strategies[s] as GridMeasurePair;
        return regularisedValue(stage, min, max, this.settings.lambda);
      });
      setStageCoefficients(this.settings.game, this.values, this.objectives);
      this.rounds++;
    }
  }

  /** Each state's strategies as piecewise-constant grid densities: MFL-AG's averaged measures, else the particles. */
  strategies(): GridMeasurePair[] {
    return this.dynamics.map((dynamics) => {
      const averaged = dynamics.averaged();
      return averaged === undefined ? this.binnedParticles(dynamics) : this.binned(averaged);
    });
  }

  /** The last iterate's strategies, whatever the algorithm (MFL-AG reports them beside its averaged ones). */
  lastIterate(): GridMeasurePair[] {
    return this.dynamics.map((dynamics) => this.binnedParticles(dynamics));
  }

  private binnedParticles(dynamics: MflDynamics): GridMeasurePair {
    const { grid } = this.settings;
    return this.binned({
      min: particleMeasure(grid, dynamics.min.points, dynamics.min.count),
      max: particleMeasure(grid, dynamics.max.points, dynamics.max.count),
    });
  }

  private binned(pair: GridMeasurePair): GridMeasurePair {
    const { grid, bins } = this.settings;
    return { min: coarsen(grid, pair.min, bins), max: coarsen(grid, pair.max, bins) };
  }
}
