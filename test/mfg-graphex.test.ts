// mfg.graphex numerics against independent computations (the reference's "internal" goldens, meanfield.md §3
// and §8):
// - neighbourhood compositions: counts, multinomial laws (binomial for two states), index round trips;
// - the graphex sampler: edge counts against the closed-form expectation, a simple graph, seed determinism;
// - the periphery MDP: the policy's value by a forward pass over its own state law (no Q-functions), the
//   best response's value by exhaustive search over deterministic policies on short horizons, and the
//   per-degree law against a Monte-Carlo run of agents whose neighbourhoods are drawn as the model says;
// - the core: its exploitability (mfg.finite's evaluation of the extended-state game) against a second,
//   per-class computation — a direct forward recursion for the class laws and fields, then each class's
//   policy value by a forward pass and its best response by exhaustive search with the fields frozen;
// - mirror descent drives core and periphery exploitability below 1e-3 where it converges;
// - Δμ decreases as the graph grows (ν = 50, 100, 200), and is small on a complete uploaded graph.
// Tolerances: 1e-10 for sums of ≤ 10⁴ float64 terms of size ≤ 10² (exact identities); Monte-Carlo checks
// at 4 standard errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../src/lib/random.js';
import { evaluate } from '../src/solvers/mfg/finite/evaluation.js';
import { type CoreStructure, coreGame, normaliseRows } from '../src/solvers/mfg/graphex/core.js';
import type { GraphGame } from '../src/solvers/mfg/graphex/game.js';
import { createGraphGame } from '../src/solvers/mfg/graphex/games/index.js';
import { degreeOf } from '../src/solvers/mfg/graphex/graph.js';
import { solveHybrid } from '../src/solvers/mfg/graphex/hybrid.js';
import { measureDeltaMu } from '../src/solvers/mfg/graphex/measure.js';
import {
  compositionCount,
  compositionKey,
  compositions,
  multinomialWeights,
} from '../src/solvers/mfg/graphex/neighbourhoods.js';
import type { MfgGraphexParams } from '../src/solvers/mfg/graphex/params.js';
import { CORE, OVERFLOW, PERIPHERY, partitionEdgeList } from '../src/solvers/mfg/graphex/partition.js';
import {
  compositionLaws,
  type DegreeModel,
  degreeModel,
  evaluateDegree,
} from '../src/solvers/mfg/graphex/periphery.js';
import { buildProblem, graphOfEdgeList } from '../src/solvers/mfg/graphex/problem.js';
import { expectedEdges, sampleGraphex } from '../src/solvers/mfg/graphex/sampler.js';

function near(actual: number, expected: number, tolerance: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (±${tolerance})`);
}

function randomRows(rows: number, actions: number, random: Random): Float64Array {
  const policy = new Float64Array(rows * actions);
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let a = 0; a < actions; a++) sum += policy[row * actions + a] = random.nextUniform();
    for (let a = 0; a < actions; a++) policy[row * actions + a] = (policy[row * actions + a] as number) / sum;
  }
  return policy;
}

/** A field over time that is not constant: G_t(s) ∝ 1 + s·(1 + sin t). */
function movingField(game: GraphGame): Float64Array {
  const field = new Float64Array((game.horizon + 1) * game.states);
  for (let t = 0; t <= game.horizon; t++) {
    let sum = 0;
    for (let s = 0; s < game.states; s++) sum += field[t * game.states + s] = 1 + s * (1 + Math.sin(t));
    for (let s = 0; s < game.states; s++)
      field[t * game.states + s] = (field[t * game.states + s] as number) / sum;
  }
  return field;
}

/**
 * A periphery policy's value by pushing its own state law forward: Σ_t Σ_{s,g} P(s_t = s)·Mult_t(g)·
 * Σ_a π r — no Q-function involved.
 */
function peripheryForwardValue(model: DegreeModel, laws: Float64Array, policy: Float64Array): number {
  const { horizon, states, actions, initial } = model.game;
  const count = model.neighbourhood.count;
  let law = Float64Array.from(initial);
  let value = 0;
  for (let t = 0; t <= horizon; t++) {
    const next = new Float64Array(states);
    for (let s = 0; s < states; s++) {
      for (let g = 0; g < count; g++) {
        for (let a = 0; a < actions; a++) {
          const row = (s * count + g) * actions + a;
          const mass =
            (law[s] as number) *
            (laws[t * count + g] as number) *
            (policy[t * states * count * actions + row] as number);
          value += mass * (model.reward[row] as number);
          for (let r = 0; r < states; r++)
            next[r] = (next[r] as number) + mass * (model.kernel[row * states + r] as number);
        }
      }
    }
    law = next;
  }
  return value;
}

/** The largest forward value over every deterministic policy of a small degree MDP. */
function bruteForceBest(model: DegreeModel, laws: Float64Array): number {
  const { horizon, states, actions } = model.game;
  const decisions = (horizon + 1) * states * model.neighbourhood.count;
  assert.equal(actions, 2);
  assert.ok(decisions <= 20, 'keep the search small');
  let best = -Infinity;
  const policy = new Float64Array(decisions * actions);
  for (let code = 0; code < 2 ** decisions; code++) {
    for (let d = 0; d < decisions; d++) {
      const action = (code >> d) & 1;
      policy[d * 2] = 1 - action;
      policy[d * 2 + 1] = action;
    }
    best = Math.max(best, peripheryForwardValue(model, laws, policy));
  }
  return best;
}

describe('mfg.graphex neighbourhood compositions', () => {
  it('lists C(k + S − 1, S − 1) compositions with multinomial laws summing to 1', () => {
    for (const [degree, states] of [
      [1, 2],
      [5, 2],
      [7, 3],
      [16, 3],
    ] as const) {
      const neighbourhood = compositions(degree, states);
      assert.equal(neighbourhood.count, compositionCount(degree, states));
      const law = Float64Array.from({ length: states }, (_, s) => (s + 1) / ((states * (states + 1)) / 2));
      const weights = new Float64Array(neighbourhood.count);
      multinomialWeights(neighbourhood, law, weights);
      near(
        weights.reduce((a, b) => a + b, 0),
        1,
        1e-12,
        `Σ Mult(k = ${degree}, S = ${states})`,
      );
      for (let g = 0; g < neighbourhood.count; g++) {
        const counts = neighbourhood.counts.subarray(g * states, (g + 1) * states);
        assert.equal(
          counts.reduce((a, b) => a + b, 0),
          degree,
        );
        assert.equal(neighbourhood.index[compositionKey(counts, degree)], g);
      }
    }
  });

  it('is the binomial law for two states, and handles a state of probability 0', () => {
    const neighbourhood = compositions(6, 2);
    const weights = new Float64Array(neighbourhood.count);
    multinomialWeights(neighbourhood, [0.7, 0.3], weights);
    const binomial = (j: number) => {
      let c = 1;
      for (let i = 0; i < j; i++) c = (c * (6 - i)) / (i + 1);
      return c * 0.3 ** j * 0.7 ** (6 - j);
    };
    for (let g = 0; g < neighbourhood.count; g++) {
      near(weights[g] as number, binomial(neighbourhood.counts[2 * g + 1] as number), 1e-14, `Binomial ${g}`);
    }
    multinomialWeights(neighbourhood, [1, 0], weights);
    assert.deepEqual(Array.from(weights), [1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('mfg.graphex graphs', () => {
  it('samples a simple graph whose edge count matches the graphex expectation', () => {
    const spec = { size: 60, sigma: 0.5 };
    const counts: number[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const { graph, labels } = sampleGraphex(spec, new Random(seed));
      counts.push(graph.edges);
      for (let v = 0; v < graph.vertices; v++) {
        assert.ok(degreeOf(graph, v) > 0, 'isolated vertices are dropped');
        const list = graph.neighbours.subarray(graph.offsets[v], graph.offsets[v + 1]);
        for (let i = 0; i < list.length; i++) {
          assert.notEqual(list[i], v, 'no self-loop');
          if (i > 0) assert.ok((list[i] as number) > (list[i - 1] as number), 'no repeated edge');
        }
        if (v > 0) assert.ok((labels[v] as number) >= (labels[v - 1] as number), 'labels ascending');
      }
    }
    // The edge count is a sum of independent Bernoullis given the labels, plus the labels' Poisson
    // noise; its variance is below 4× the mean here (measured 2.1×), so the mean of 12 is within
    // 4·sqrt(4·E/12) of E.
    const expected = expectedEdges(spec);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    near(mean, expected, 4 * Math.sqrt((4 * expected) / counts.length), 'mean edge count');
  });

  it('is reproducible under its seed and differs under another', () => {
    const a = sampleGraphex({ size: 40, sigma: 0.6 }, new Random(7));
    const b = sampleGraphex({ size: 40, sigma: 0.6 }, new Random(7));
    const c = sampleGraphex({ size: 40, sigma: 0.6 }, new Random(8));
    assert.deepEqual(Array.from(a.graph.neighbours), Array.from(b.graph.neighbours));
    assert.deepEqual(Array.from(a.labels), Array.from(b.labels));
    assert.notDeepEqual(Array.from(a.labels), Array.from(c.labels));
  });

  it('reads an edge list: ids renumbered in order, repeats merged, core by degree rank', () => {
    // A star on 10 (hub) with leaves 3, 5, 7, 9, plus a path 3–5 given twice (once reversed).
    const graph = graphOfEdgeList([
      [10, 3],
      [10, 5],
      [7, 10],
      [10, 9],
      [3, 5],
      [5, 3],
    ]);
    assert.equal(graph.vertices, 5);
    assert.equal(graph.edges, 5);
    assert.deepEqual(
      Array.from({ length: 5 }, (_, v) => degreeOf(graph, v)),
      [2, 2, 1, 1, 4],
    );
    const partition = partitionEdgeList(graph, 0.4, 2, 1);
    // Core = the 2 highest degrees: the hub (class 0), then id 3 (degree 2, smaller id than 5; class 1).
    assert.deepEqual(Array.from(partition.part), [CORE, OVERFLOW, PERIPHERY, PERIPHERY, CORE]);
    assert.deepEqual(Array.from(partition.coreClass), [1, 1, -1, -1, 0]);
    assert.equal(partition.overflow, 1);
    assert.deepEqual(Array.from(partition.degreeCounts), [0, 2]);
    // Hub's core neighbours: id 3 only → A(0, ·) = (0, 1); id 3's: the hub → A(1, ·) = (1, 0);
    // periphery → core edges: 5–3, 5–hub (5 is overflow, not periphery), 7–hub, 9–hub → B = (1, 0).
    assert.deepEqual(Array.from(partition.structure.neighbourWeights), [0, 1, 1, 0]);
    assert.deepEqual(Array.from(partition.structure.peripheryWeights), [1, 0]);
  });
});

describe('mfg.graphex periphery MDP', () => {
  const cases: Array<[string, number, number]> = [
    ['sis', 2, 2],
    ['sir', 1, 1],
    ['rumor', 1, 1],
  ];
  for (const [name, degree, horizon] of cases) {
    it(`${name}, degree ${degree}, T = ${horizon}: forward values and the exhaustive best response agree`, () => {
      const game = createGraphGame({ name, horizon } as never);
      const model = degreeModel(game, degree);
      const laws = compositionLaws(model, movingField(game));
      const rows = (horizon + 1) * game.states * model.neighbourhood.count;
      const policy = randomRows(rows, game.actions, new Random(3));
      const evaluation = evaluateDegree(model, laws, policy);
      near(evaluation.policyValue, peripheryForwardValue(model, laws, policy), 1e-10, 'policy value');
      near(evaluation.bestResponseValue, bruteForceBest(model, laws), 1e-10, 'best-response value');
      assert.ok(evaluation.exploitability > 0);
    });
  }

  it('predicts the state law of agents whose neighbourhoods are drawn as the model assumes', () => {
    const game = createGraphGame({ name: 'sir', horizon: 12 } as never);
    const model = degreeModel(game, 3);
    const field = movingField(game);
    const laws = compositionLaws(model, field);
    const count = model.neighbourhood.count;
    const policy = randomRows((game.horizon + 1) * game.states * count, game.actions, new Random(5));
    const predicted = evaluateDegree(model, laws, policy).law;
    const random = new Random(11);
    const agents = 20_000;
    const observed = new Float64Array((game.horizon + 1) * game.states);
    const kernel = new Float64Array(game.states);
    const pick = (weights: ArrayLike<number>, offset: number, length: number) => {
      const u = random.nextUniform();
      let cumulative = 0;
      for (let i = 0; i < length - 1; i++) {
        cumulative += weights[offset + i] as number;
        if (u < cumulative) return i;
      }
      return length - 1;
    };
    for (let agent = 0; agent < agents; agent++) {
      let s = pick(game.initial, 0, game.states);
      for (let t = 0; t <= game.horizon; t++) {
        observed[t * game.states + s] = (observed[t * game.states + s] as number) + 1 / agents;
        if (t === game.horizon) break;
        // Three neighbours, each in a state drawn from G_t.
        const neighbours = new Float64Array(game.states);
        for (let j = 0; j < 3; j++) {
          const r = pick(field, t * game.states, game.states);
          neighbours[r] = (neighbours[r] as number) + 1;
        }
        const g = model.neighbourhood.index[compositionKey(neighbours, 3)] as number;
        const action = pick(policy, ((t * game.states + s) * count + g) * game.actions, game.actions);
        game.transition(
          s,
          action,
          neighbours.map((c) => c / 3),
          kernel,
        );
        s = pick(kernel, 0, game.states);
      }
    }
    for (let i = 0; i < observed.length; i++) {
      const p = predicted[i] as number;
      near(observed[i] as number, p, 4 * Math.sqrt((p * (1 - p)) / agents) + 1e-12, `law entry ${i}`);
    }
  });
});

describe('mfg.graphex core', () => {
  it('its exploitability equals a per-class forward/exhaustive computation with the fields frozen', () => {
    const game = createGraphGame({ name: 'sis', horizon: 3 } as never);
    const masses = Float64Array.of(0.3, 0.7);
    // Assortative classes, so the two classes see different fields.
    const structure: CoreStructure = {
      classes: 2,
      masses,
      neighbourWeights: normaliseRows(Float64Array.of(3, 1, 1, 2), masses),
      peripheryWeights: normaliseRows(Float64Array.of(1, 1), masses),
    };
    const finite = coreGame(game, structure);
    const { horizon, states, actions } = game;
    const policy = randomRows((horizon + 1) * 2 * states, actions, new Random(9));
    const evaluation = evaluate(finite, policy);

    // Second computation: class laws and fields by a direct recursion.
    const A = structure.neighbourWeights;
    const laws = [Float64Array.from(game.initial), Float64Array.from(game.initial)];
    const fields: Float64Array[][] = [];
    const kernel = new Float64Array(states);
    const piOf = (t: number, m: number, s: number, a: number) =>
      policy[((t * 2 + m) * states + s) * actions + a] as number;
    const lawsOverTime: Float64Array[][] = [];
    for (let t = 0; t <= horizon; t++) {
      const current = laws.map((law) => Float64Array.from(law));
      lawsOverTime.push(current);
      fields.push(
        [0, 1].map((m) =>
          Float64Array.from({ length: states }, (_, s) =>
            [0, 1].reduce((sum, n) => sum + (A[m * 2 + n] as number) * (current[n]?.[s] as number), 0),
          ),
        ),
      );
      for (let m = 0; m < 2; m++) {
        const next = new Float64Array(states);
        for (let s = 0; s < states; s++) {
          for (let a = 0; a < actions; a++) {
            game.transition(s, a, fields[t]?.[m] as Float64Array, kernel);
            for (let r = 0; r < states; r++) {
              next[r] =
                (next[r] as number) + (current[m]?.[s] as number) * piOf(t, m, s, a) * (kernel[r] as number);
            }
          }
        }
        laws[m] = next;
      }
    }
    // Per class: the policy's forward value and the best deterministic policy's, fields frozen.
    const classValue = (m: number, choose: (t: number, s: number, a: number) => number) => {
      let law = Float64Array.from(game.initial);
      let value = 0;
      for (let t = 0; t <= horizon; t++) {
        const field = fields[t]?.[m] as Float64Array;
        const next = new Float64Array(states);
        for (let s = 0; s < states; s++) {
          for (let a = 0; a < actions; a++) {
            const mass = (law[s] as number) * choose(t, s, a);
            value += mass * game.reward(s, a, field);
            game.transition(s, a, field, kernel);
            for (let r = 0; r < states; r++) next[r] = (next[r] as number) + mass * (kernel[r] as number);
          }
        }
        law = next;
      }
      return value;
    };
    let exploitability = 0;
    for (let m = 0; m < 2; m++) {
      const own = classValue(m, (t, s, a) => piOf(t, m, s, a));
      let best = -Infinity;
      const decisions = (horizon + 1) * states;
      for (let code = 0; code < 2 ** decisions; code++) {
        best = Math.max(
          best,
          classValue(m, (t, s, a) => (((code >> (t * states + s)) & 1) === a ? 1 : 0)),
        );
      }
      exploitability += (masses[m] as number) * (best - own);
    }
    near(evaluation.exploitability, exploitability, 1e-10, 'core exploitability');
    assert.ok(exploitability > 0.01, 'a random policy is exploitable');
  });
});

describe('mfg.graphex hybrid mirror descent', () => {
  const problemOf = (name: string, horizon: number, size: number, seed: number, iterations = 50) =>
    buildProblem(
      {
        game: { name, horizon },
        graph: { kind: 'graphex', size, sigma: 0.5, core_label: 4 },
        core_classes: 4,
        max_degree: 16,
        iterations,
        step: 1,
        periphery_policy: 'mirror_descent',
        runs: 3,
      } as MfgGraphexParams,
      seed,
    );

  for (const [name, horizon, iterations] of [
    ['sir', 50, 300],
    ['rumor', 50, 300],
    ['sis', 10, 150],
  ] as const) {
    it(`${name} (T = ${horizon}): core and periphery exploitability fall below 1e-3 in ${iterations} iterations`, async () => {
      const problem = problemOf(name, horizon, 60, 1);
      const solution = await solveHybrid(problem.game, problem.partition, {
        iterations,
        step: 1,
        peripheryPolicy: 'mirror_descent',
      });
      const first = solution.coreExploitability[0] as number;
      const last = solution.coreExploitability.at(-1) as number;
      assert.ok(first > 1, `uniform play is exploitable (${first})`);
      assert.ok(last < 1e-3, `core exploitability ${last}`);
      assert.ok(solution.final.periphery.length > 0);
      for (const degree of solution.final.periphery) {
        assert.ok(degree.exploitability < 1e-3, `degree ${degree.degree}: ${degree.exploitability}`);
      }
    });
  }

  it('best_response periphery: exploitability 0 at every degree', async () => {
    const problem = problemOf('sis', 10, 60, 1);
    const solution = await solveHybrid(problem.game, problem.partition, {
      iterations: 5,
      step: 1,
      peripheryPolicy: 'best_response',
    });
    for (const degree of solution.final.periphery)
      near(degree.exploitability, 0, 1e-12, `degree ${degree.degree}`);
  });

  it('a sample without vertices (ν = 0.01) gives Δμ null, not 0', async () => {
    const problem = problemOf('sis', 5, 0.01, 1);
    assert.equal(problem.graph.vertices, 0);
    const solution = await solveHybrid(problem.game, problem.partition, {
      iterations: 2,
      step: 1,
      peripheryPolicy: 'mirror_descent',
    });
    assert.deepEqual((await measureDeltaMu(problem, solution, 2, 1)).mean, {
      overall: null,
      core: null,
      periphery: null,
    });
  });

  it('Δμ decreases as the graph grows (ν = 50, 100, 200; SIS, two graphs each)', async () => {
    const deltas: number[] = [];
    for (const size of [50, 100, 200]) {
      let sum = 0;
      for (const seed of [1, 2]) {
        const problem = problemOf('sis', 50, size, seed);
        const solution = await solveHybrid(problem.game, problem.partition, {
          iterations: 30,
          step: 1,
          peripheryPolicy: 'mirror_descent',
        });
        sum += (await measureDeltaMu(problem, solution, 3, seed)).mean.overall as number;
      }
      deltas.push(sum / 2);
    }
    assert.ok((deltas[0] as number) > (deltas[1] as number), `Δμ ${deltas.join(' > ')}`);
    assert.ok((deltas[1] as number) > (deltas[2] as number), `Δμ ${deltas.join(' > ')}`);
    assert.ok((deltas[2] as number) < 0.02, `Δμ at ν = 200: ${deltas[2]}`);
  });

  it('on complete uploaded graphs (all core, one class) Δμ shrinks with n: the mean field is exact there', async () => {
    const deltas: number[] = [];
    for (const n of [50, 150, 400]) {
      const edges: Array<[number, number]> = [];
      for (let u = 0; u < n; u++) for (let v = u + 1; v < n; v++) edges.push([u, v]);
      const problem = buildProblem(
        {
          game: { name: 'sis', horizon: 30 },
          graph: { kind: 'edge_list', edges, core_fraction: 1 },
          core_classes: 1,
          max_degree: 4,
          iterations: 20,
          step: 1,
          periphery_policy: 'mirror_descent',
          runs: 4,
        } as MfgGraphexParams,
        3,
      );
      const solution = await solveHybrid(problem.game, problem.partition, {
        iterations: 20,
        step: 1,
        peripheryPolicy: 'mirror_descent',
      });
      const measured = await measureDeltaMu(problem, solution, 4, 3);
      assert.equal(measured.mean.periphery, null);
      deltas.push(measured.mean.overall as number);
    }
    // Only sampling noise is left, O(1/sqrt(n)): at n = 400 one state's share has sd sqrt(0.25/400) = 0.025.
    assert.ok(
      (deltas[0] as number) > (deltas[1] as number) && (deltas[1] as number) > (deltas[2] as number),
      `Δμ ${deltas.join(' > ')}`,
    );
    assert.ok((deltas[2] as number) < 0.025, `Δμ at n = 400: ${deltas[2]}`);
  });
});
