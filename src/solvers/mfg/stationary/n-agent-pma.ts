// Independent PMA with N agents on one sample path of the N-agent game (Yardim et al. 2023; meanfield.md §2
// rule 3). No agent sees the mean field or anyone's policy: at every step each agent i in state s^i draws
// a^i ~ π^i(s^i), gets r^i = R(s^i, a^i; μ̂) and moves to s'^i ~ P(·|s^i, a^i; μ̂), where μ̂ is the empirical
// state law of the N agents (so the population is finite and the error floor is the O(1/√N) mean-field
// error plus learning noise). Each agent learns its own Q by tabular expected-SARSA TD(0) on its own
// transitions,
//   Q(s, a) ← Q(s, a) + β_n [r + γ(Σ_a' π(a'|s')Q(s', a') + λh(π(·|s'))) − Q(s, a)],
// with β_n = (1 + n/rate_scale)^−rate_power at the n-th visit of (s, a) in this epoch, and after
// `stepsPerEpoch` steps applies the PMA step to its own policy. Q is carried over between epochs (the
// first visit of an epoch has β = 1, so it is overwritten by a fresh sample anyway).

import { cancellationPoint } from '../../../lib/cancellation.js';
import { Random } from '../../../lib/random.js';
import { entropies } from './evaluation.js';
import type { StationaryGame } from './game.js';
import { pmaStep, policyDistance } from './pma-step.js';

export interface NAgentOptions {
  agents: number;
  epochs: number;
  stepsPerEpoch: number;
  eta: number;
  lambda: number;
  rateScale: number;
  ratePower: number;
  seed: number;
  /** Checked (after yielding to the thread's event loop) every YIELD_EVERY_MS of simulation. */
  signal?: AbortSignal;
  /** Called after each epoch's PMA step (epoch 0: the initial uniform policies, before any sample). */
  onEpoch?: (epoch: number, population: NAgentPopulation) => void | Promise<void>;
}

/** The N agents' policies and where they stand; policies are N rows of S·A. */
export interface NAgentPopulation {
  policies: Float64Array;
  states: Int32Array;
  /** Agent-steps simulated so far (N per step). */
  samples: number;
}

/** A long epoch yields this often, so a cancel message is seen within about this delay. */
const YIELD_EVERY_MS = 50;

function sampleIndex(random: Random, weights: Float64Array, from: number, count: number): number {
  let u = random.nextUniform();
  for (let k = 0; k < count - 1; k++) {
    u -= weights[from + k] as number;
    if (u < 0) return k;
  }
  return count - 1;
}

export async function nAgentPma(game: StationaryGame, options: NAgentOptions): Promise<NAgentPopulation> {
  const { states, actions, discount } = game;
  const { agents, lambda } = options;
  const width = states * actions;
  const random = new Random(options.seed);
  const population: NAgentPopulation = {
    policies: new Float64Array(agents * width).fill(1 / actions),
    states: new Int32Array(agents),
    samples: 0,
  };
  for (let i = 0; i < agents; i++) population.states[i] = sampleIndex(random, game.initial, 0, states);
  const q = new Float64Array(agents * width);
  const visits = new Uint32Array(agents * width);
  const soft = new Float64Array(agents * states);
  const law = new Float64Array(states);
  const stepSize = (n: number) => (1 + n / options.rateScale) ** -options.ratePower;
  let lastYield = performance.now();
  await options.onEpoch?.(0, population);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    visits.fill(0);
    // π is fixed within an epoch, so each agent's expected next value needs its entropies once.
    for (let i = 0; i < agents; i++)
      soft.set(
        entropies(population.policies.subarray(i * width, (i + 1) * width), states, actions),
        i * states,
      );
    for (let step = 0; step < options.stepsPerEpoch; step++) {
      law.fill(0);
      for (let i = 0; i < agents; i++) {
        const s = population.states[i] as number;
        law[s] = (law[s] as number) + 1 / agents;
      }
      const reward = game.reward(law);
      const { offsets, next, prob } = game.transition(law);
      for (let i = 0; i < agents; i++) {
        const base = i * width;
        const s = population.states[i] as number;
        const a = sampleIndex(random, population.policies, base + s * actions, actions);
        const row = s * actions + a;
        let u = random.nextUniform();
        let landed = next[(offsets[row + 1] as number) - 1] as number;
        for (let k = offsets[row] as number; k < (offsets[row + 1] as number); k++) {
          u -= prob[k] as number;
          if (u < 0) {
            landed = next[k] as number;
            break;
          }
        }
        let expected = lambda * (soft[i * states + landed] as number);
        for (let b = 0; b < actions; b++) {
          const cell = base + landed * actions + b;
          expected += (population.policies[cell] as number) * (q[cell] as number);
        }
        const cell = base + row;
        const beta = stepSize(visits[cell] as number);
        visits[cell] = (visits[cell] as number) + 1;
        q[cell] =
          (q[cell] as number) + beta * ((reward[row] as number) + discount * expected - (q[cell] as number));
        population.states[i] = landed;
      }
      population.samples += agents;
      if (options.signal !== undefined && performance.now() - lastYield >= YIELD_EVERY_MS) {
        await cancellationPoint(options.signal);
        lastYield = performance.now();
      }
    }
    for (let i = 0; i < agents; i++) {
      const policy = population.policies.subarray(i * width, (i + 1) * width);
      pmaStep(policy, q.subarray(i * width, (i + 1) * width), actions, options.eta, lambda, policy);
    }
    await options.onEpoch?.(epoch, population);
  }
  return population;
}

/** π̄ = (1/N)Σ π^i, the policy whose exploitability the job reports. */
export function meanPolicy(policies: Float64Array, agents: number): Float64Array {
  const width = policies.length / agents;
  const out = new Float64Array(width);
  for (let i = 0; i < agents; i++)
    for (let k = 0; k < width; k++)
      out[k] = (out[k] as number) + (policies[i * width + k] as number) / agents;
  return out;
}

/** Mean and max over agents of max_s ‖π^i(·|s) − π̄(·|s)‖₁. */
export function agentSpread(
  policies: Float64Array,
  mean: Float64Array,
  actions: number,
): { mean: number; max: number } {
  const width = mean.length;
  const agents = policies.length / width;
  let total = 0;
  let worst = 0;
  for (let i = 0; i < agents; i++) {
    const distance = policyDistance(policies.subarray(i * width, (i + 1) * width), mean, actions);
    total += distance;
    worst = Math.max(worst, distance);
  }
  return { mean: total / agents, max: worst };
}
