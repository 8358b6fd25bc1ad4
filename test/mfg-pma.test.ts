// mfg.pma numerics: exact PMA converges linearly to the regularised mean-field equilibrium, which is found
// here a second, independent way (a scalar root-find for SIS, a damped fixed point with soft value
// iteration and power iteration for the beach bar); the exact evaluations agree with plain iterative ones;
// the N-agent floor falls as N grows; everything is reproducible under its seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStationaryGame } from '../src/solvers/mfg/stationary/envs.js';
import {
  evaluateStationary,
  freeze,
  regularisedBestResponse,
  regularisedValue,
} from '../src/solvers/mfg/stationary/evaluation.js';
import { exactPma, fitLinearRate } from '../src/solvers/mfg/stationary/exact-pma.js';
import type { StationaryGame } from '../src/solvers/mfg/stationary/game.js';
import { agentSpread, meanPolicy, nAgentPma } from '../src/solvers/mfg/stationary/n-agent-pma.js';
import { policyDistance } from '../src/solvers/mfg/stationary/pma-step.js';

const LAMBDA = 0.1;
const GAMMA = 0.9;

/** Soft value iteration on a frozen game given as dense arrays: V ← λ log Σ_a exp((R + γPV)/λ). */
function softValueIteration(
  reward: number[],
  kernel: number[][][],
  actions: number,
): { q: number[]; v: number[] } {
  const states = kernel.length;
  let v = new Array(states).fill(0);
  let q = new Array(states * actions).fill(0);
  for (let sweep = 0; sweep < 500; sweep++) {
    q = reward.map((r, row) => {
      const next = kernel[Math.floor(row / actions)]?.[row % actions] as number[];
      return r + GAMMA * next.reduce((sum, p, target) => sum + p * (v[target] as number), 0);
    });
    v = v.map((_, s) => {
      const slice = q.slice(s * actions, (s + 1) * actions);
      const top = Math.max(...slice);
      return top + LAMBDA * Math.log(slice.reduce((sum, x) => sum + Math.exp((x - top) / LAMBDA), 0));
    });
  }
  return { q, v };
}

function softmaxRows(q: number[], actions: number): number[] {
  const out: number[] = [];
  for (let row = 0; row < q.length; row += actions) {
    const slice = q.slice(row, row + actions);
    const top = Math.max(...slice);
    const weights = slice.map((x) => Math.exp((x - top) / LAMBDA));
    const total = weights.reduce((a, b) => a + b, 0);
    out.push(...weights.map((w) => w / total));
  }
  return out;
}

/** Dense P[s][a][s'] of a game frozen at `law`. */
function denseKernel(game: StationaryGame, law: Float64Array): number[][][] {
  const { offsets, next, prob } = game.transition(law);
  return Array.from({ length: game.states }, (_, s) =>
    Array.from({ length: game.actions }, (_, a) => {
      const row = new Array(game.states).fill(0);
      const r = s * game.actions + a;
      for (let k = offsets[r] as number; k < (offsets[r + 1] as number); k++)
        row[next[k] as number] += prob[k];
      return row;
    }),
  );
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const gap = Math.abs((actual[i] as number) - (expected[i] as number));
    assert.ok(gap <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (gap ${gap})`);
  }
}

describe('mfg.pma exact mode', () => {
  it('SIS: the PMA limit is the equilibrium found by bisection on the infected share', async () => {
    // Independent: for an infected share m, the soft best response against the game frozen at m, then
    // the stationary infected share of that policy's 2-state chain, m' = p/(p + recovery) with p the
    // S → I probability; the equilibrium solves m' = m (the endemic root, m > 0).
    const reward = [0, -0.5, -1, -1.5];
    const respond = (m: number) => {
      const kernel = [
        [
          [1 - 0.81 * m, 0.81 * m],
          [1, 0],
        ],
        [
          [0.3, 0.7],
          [0.3, 0.7],
        ],
      ];
      const policy = softmaxRows(softValueIteration(reward, kernel, 2).q, 2);
      const p = (policy[0] as number) * 0.81 * m;
      return { policy, next: p / (p + 0.3) };
    };
    let low = 1e-6;
    let high = 1;
    for (let i = 0; i < 60; i++) {
      const middle = (low + high) / 2;
      if (respond(middle).next > middle) low = middle;
      else high = middle;
    }
    const share = (low + high) / 2;
    const expected = respond(share).policy;

    const game = createStationaryGame({ name: 'susceptible_infected' }, GAMMA);
    const run = await exactPma(game, { eta: 1, lambda: LAMBDA, iterations: 400, tolerance: 0 });
    assertClose(run.policy, expected, 1e-9, 'policy');
    assertClose(run.evaluation.law.law, [1 - share, share], 1e-9, 'mean field');
    assert.ok(
      Math.abs(run.exploitability.at(-1) as number) < 1e-12,
      `exploitability ${run.exploitability.at(-1)}`,
    );
    assert.ok((run.exploitability[0] as number) > 0.5, 'the uniform policy is exploitable');
  });

  it('beach bar: the PMA limit is the damped fixed point of soft value iteration and power iteration', async () => {
    const game = createStationaryGame({ name: 'beach_bar' }, GAMMA);
    const { states, actions } = game;
    const kernel = denseKernel(game, game.initial); // the beach bar's kernel ignores μ
    let law = Array.from(game.initial);
    let policy: number[] = [];
    // Damping 0.3 settles into a 2-cycle here; 0.05 contracts.
    for (let outer = 0; outer < 600; outer++) {
      policy = softmaxRows(
        softValueIteration(Array.from(game.reward(Float64Array.from(law))), kernel, actions).q,
        actions,
      );
      let stationary = new Array(states).fill(1 / states);
      for (let step = 0; step < 500; step++) {
        const next = new Array(states).fill(0);
        for (let s = 0; s < states; s++)
          for (let a = 0; a < actions; a++)
            for (let t = 0; t < states; t++)
              next[t] +=
                stationary[s] * (policy[s * actions + a] as number) * (kernel[s]?.[a]?.[t] as number);
        stationary = next;
      }
      law = law.map((m, s) => 0.95 * m + 0.05 * stationary[s]);
    }
    const run = await exactPma(game, { eta: 1, lambda: LAMBDA, iterations: 400, tolerance: 0 });
    assertClose(run.evaluation.law.law, law, 1e-9, 'mean field');
    assertClose(run.policy, policy, 1e-8, 'policy');
    assert.ok(Math.abs(run.exploitability.at(-1) as number) < 1e-10);
  });

  it('converges linearly: ‖π_k − π*‖ falls by the fitted rate ρ < 1 per step, on a straight log-line', async () => {
    for (const env of [{ name: 'susceptible_infected' as const }, { name: 'beach_bar' as const }]) {
      const game = createStationaryGame(env, GAMMA);
      const options = { eta: 1, lambda: LAMBDA, tolerance: 0 };
      const limit = await exactPma(game, { ...options, iterations: 400 });
      const fit = fitLinearRate((await exactPma(game, { ...options, iterations: 150 })).steps);
      assert.ok(fit !== undefined);
      assert.ok(fit.rate < 0.95 && fit.r2 > 0.999, `${env.name}: rate ${fit.rate}, r² ${fit.r2}`);
      // The distance to the independently verified limit shrinks by ρ^30 every 30 steps.
      const distances: number[] = [];
      for (const iterations of [40, 70, 100]) {
        const run = await exactPma(game, { ...options, iterations });
        distances.push(policyDistance(run.policy, limit.policy, game.actions));
      }
      for (let i = 1; i < distances.length; i++) {
        const ratio = (distances[i] as number) / (distances[i - 1] as number);
        const expected = fit.rate ** 30;
        assert.ok(
          Math.abs(Math.log(ratio / expected)) < 0.2,
          `${env.name}: ratio ${ratio} vs ρ^30 ${expected}`,
        );
      }
    }
  });

  it('evaluations agree with plain iterative ones, and exploitability is ≥ 0 with 0 only at the equilibrium', async () => {
    const game = createStationaryGame({ name: 'beach_bar', positions: 6, bar_location: 1 }, GAMMA);
    const { states, actions } = game;
    const policy = new Float64Array(states * actions);
    for (let i = 0; i < policy.length; i += actions) policy.set([0.2, 0.5, 0.3], i);
    const evaluation = evaluateStationary(game, policy, LAMBDA);
    // Γ_pop iterated 20 000 times from μ_0 lands on the same law as the solve.
    let law = Array.from(game.initial);
    const kernel = denseKernel(game, game.initial);
    for (let step = 0; step < 20_000; step++) {
      const next = new Array(states).fill(0);
      for (let s = 0; s < states; s++)
        for (let a = 0; a < actions; a++)
          for (let t = 0; t < states; t++)
            next[t] +=
              (law[s] as number) * (policy[s * actions + a] as number) * (kernel[s]?.[a]?.[t] as number);
      law = next;
    }
    assertClose(evaluation.law.law, law, 1e-12, 'stationary law');
    assert.ok(evaluation.law.residual < 1e-14);
    // V^π_λ by 3000 sweeps of V ← r_π + λh + γP_πV instead of the linear solve.
    const frozen = freeze(game, evaluation.law.law);
    const reward = Array.from(frozen.reward);
    let value = new Array(states).fill(0);
    for (let sweep = 0; sweep < 3000; sweep++) {
      value = value.map((_, s) => {
        let total = 0;
        for (let a = 0; a < actions; a++) {
          const p = policy[s * actions + a] as number;
          const next = (kernel[s]?.[a] ?? []).reduce((sum, q, t) => sum + q * value[t], 0);
          total += p * ((reward[s * actions + a] as number) + GAMMA * next) - LAMBDA * p * Math.log(p);
        }
        return total;
      });
    }
    assertClose(regularisedValue(frozen, policy, LAMBDA), value, 1e-10, 'V^π');
    assertClose(
      regularisedBestResponse(frozen, LAMBDA).value,
      softValueIteration(reward, kernel, actions).v,
      1e-10,
      'V*',
    );
    assert.ok(evaluation.exploitability > 0.1);
    // η = 1 diverges on this game (the law collapses onto one position); η = 0.3 converges.
    const run = await exactPma(game, { eta: 0.3, lambda: LAMBDA, iterations: 3000, tolerance: 1e-13 });
    assert.ok(run.stoppedEarly);
    assert.ok(Math.min(...run.exploitability) > -1e-12, 'never negative beyond rounding');
    assert.ok(Math.abs(run.exploitability.at(-1) as number) < 1e-11);
  });
});

describe('mfg.pma n_agent mode', () => {
  const game = createStationaryGame({ name: 'beach_bar' }, GAMMA);
  const run = async (agents: number, seed: number) => {
    const exploitability: number[] = [];
    const population = await nAgentPma(game, {
      agents,
      epochs: 20,
      stepsPerEpoch: 1000,
      eta: 1,
      lambda: LAMBDA,
      rateScale: 50,
      ratePower: 0.6,
      seed,
      onEpoch: (_epoch, current) => {
        exploitability.push(
          evaluateStationary(game, meanPolicy(current.policies, agents), LAMBDA).exploitability,
        );
      },
    });
    return { population, exploitability };
  };

  it('the floor of the mean policy’s exploitability falls as N grows (N = 5, 20, 100; two seeds each)', async () => {
    const floors: number[] = [];
    for (const agents of [5, 20, 100]) {
      let total = 0;
      for (const seed of [1, 2]) {
        const { exploitability, population } = await run(agents, seed);
        assert.equal(exploitability.length, 21);
        assert.equal(population.samples, agents * 20 * 1000);
        total += exploitability.slice(-5).reduce((a, b) => a + b, 0) / 5;
      }
      floors.push(total / 2);
    }
    assert.ok((floors[0] as number) > 3 * (floors[1] as number), `floors ${floors}`);
    assert.ok((floors[1] as number) > 3 * (floors[2] as number), `floors ${floors}`);
  });

  it('is reproducible under its seed, and the agents learn different policies', async () => {
    const first = await run(10, 7);
    const again = await run(10, 7);
    const other = await run(10, 8);
    assert.deepEqual(again.exploitability, first.exploitability);
    assert.deepEqual(Array.from(again.population.policies), Array.from(first.population.policies));
    assert.notDeepEqual(other.exploitability, first.exploitability);
    const spread = agentSpread(
      first.population.policies,
      meanPolicy(first.population.policies, 10),
      game.actions,
    );
    assert.ok(spread.max > 0 && spread.mean <= spread.max);
  });
});
