// The mfg.graphex job through the API (inline queue, job processes): result shape and artifact, uploaded edge
// lists, the seed (same seed, same result; another seed, another graph), progress with the exploitability,
// cancellation of a running job, and bad params refused at submit with the field path, never a failed job.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp, stopApp } from './helpers/app.js';
import { jobApi } from './helpers/jobs.js';
import { assertJobPlot } from './helpers/svg.js';

describe('mfg.graphex job', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await startApp();
  });
  after(() => stopApp(app));

  const api = jobApi(() => app);
  const submit = (params: Record<string, unknown>, seed = 1) => api.submit('mfg.graphex', params, seed);
  const run = (params: Record<string, unknown>, seed = 1) => api.run('mfg.graphex', params, seed);
  /** The result without its timings, which differ between identical runs. */
  const numbers = (result: Record<string, unknown>) => {
    const { wall_ms, sample_ms, solve_ms, ms_per_iteration, simulation_ms, ...rest } = result;
    return rest;
  };

  const small = {
    game: { name: 'sis', horizon: 20 },
    graph: { kind: 'graphex', size: 40 },
    iterations: 30,
    runs: 3,
  };

  it('solves SIS on a sampled graphex: exploitability series, periphery by degree, Δμ, mean fields', async () => {
    const done = await run(small);
    const result = done.result;
    assert.deepEqual(result.game, { name: 'sis', horizon: 20, states: ['S', 'I'], actions: 2 });
    assert.equal(result.graph.kind, 'graphex');
    assert.equal(result.graph.size, 40);
    assert.ok(result.graph.vertices > 50 && result.graph.edges > 50, JSON.stringify(result.graph));
    assert.equal(
      result.graph.core_vertices + result.graph.periphery_vertices + result.graph.overflow_vertices,
      result.graph.vertices,
    );
    assert.equal(result.iterations, 30);
    assert.equal(result.core_exploitability.length, 31);
    assert.equal(result.periphery_exploitability.length, 31);
    assert.ok(result.final_core_exploitability < result.core_exploitability[0]);
    assert.equal(result.core_classes, 4);
    assert.equal(result.periphery_policy, 'mirror_descent');
    assert.ok(result.periphery.length > 0);
    for (const row of result.periphery) {
      assert.ok(row.degree >= 1 && row.degree <= 16 && row.vertices > 0);
      assert.ok(row.exploitability >= -1e-12);
    }
    for (const value of [result.delta_mu.overall, result.delta_mu.core, result.delta_mu.periphery]) {
      assert.ok(value > 0 && value < 1, JSON.stringify(result.delta_mu));
    }
    assert.equal(result.delta_mu.runs, 3);
    assert.equal(result.delta_mu.steps, 20);
    assert.equal(result.mean_field.predicted.length, 20);
    assert.equal(result.mean_field.simulated[0].length, 2);
    assert.ok(Math.abs(result.mean_field.predicted[0][1] - 0.5) < 1e-12, 'μ_0(I) = 0.5');
    const artifact = (await app.inject(`/v1/jobs/${done.id}/artifacts/solution.json`)).json();
    assert.deepEqual(artifact.core_exploitability, result.core_exploitability);
    await assertJobPlot(app, done, 'convergence.svg', {
      core: result.core_exploitability.length,
      periphery: result.periphery_exploitability.length,
    });
    assert.equal(artifact.core_policy.length, 21);
    assert.equal(artifact.core_policy[0].length, 4);
    const degree = artifact.periphery[0];
    assert.equal(degree.compositions.length, degree.degree + 1);
    assert.equal(degree.policy[0][0].length, degree.degree + 1);
    assert.equal(artifact.delta_mu_runs.length, 3);
  });

  it('is reproducible under its seed; another seed samples another graph', async () => {
    const [first, again, other] = await Promise.all([run(small, 5), run(small, 5), run(small, 6)]);
    assert.deepEqual(numbers(again.result), numbers(first.result));
    assert.notDeepEqual(other.result.graph, first.result.graph);
    assert.notEqual(other.result.delta_mu.overall, first.result.delta_mu.overall);
  });

  it('plays rumor on an uploaded edge list, with the best-response periphery', async () => {
    // A 12-cycle with chords to a hub 100: the hub and its best-connected neighbours form the core.
    const edges: Array<[number, number]> = [];
    for (let i = 0; i < 12; i++) edges.push([i, (i + 1) % 12]);
    for (let i = 0; i < 12; i += 2) edges.push([100, i]);
    const done = await run({
      game: { name: 'rumor' },
      graph: { kind: 'edge_list', edges, core_fraction: 0.3 },
      core_classes: 2,
      max_degree: 2,
      periphery_policy: 'best_response',
      iterations: 20,
      runs: 2,
    });
    const result = done.result;
    assert.equal(result.graph.kind, 'edge_list');
    assert.equal(result.graph.vertices, 13);
    assert.equal(result.graph.edges, 18);
    assert.equal(result.graph.core_vertices, 4);
    assert.deepEqual(
      result.periphery.map((row: { degree: number }) => row.degree),
      [2],
    );
    assert.ok(Math.abs(result.periphery[0].exploitability) < 1e-12);
    assert.deepEqual(result.game.states, ['U', 'S', 'R']);
  });

  it('reports progress with the exploitability and cancels a long run', async () => {
    const submitted = await submit({
      game: { name: 'sir' },
      graph: { kind: 'graphex', size: 100 },
      iterations: 900,
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const id = submitted.json().id;
    const running = await api.cancelWhileRunning(id, 'core_exploitability');
    assert.ok(running.progress.fraction < 0.9);
    assert.ok(running.progress.metrics.periphery_exploitability >= 0);
  });

  const graphex = { kind: 'graphex' };
  const sis = { name: 'sis' };
  const edgeList = (edges: unknown) => ({ game: sis, graph: { kind: 'edge_list', edges } });
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown game', { game: { name: 'chess' }, graph: graphex }, '/body/params/game'],
    ['an unknown graph kind', { game: sis, graph: { kind: 'lattice' } }, '/body/params/graph'],
    [
      'a negative horizon',
      { game: { name: 'sir', horizon: -1 }, graph: graphex },
      '/body/params/game/horizon',
    ],
    [
      'a probability above 1',
      { game: { name: 'sis', infection: 1.5 }, graph: graphex },
      '/body/params/game/infection',
    ],
    [
      'a negative probability',
      { game: { name: 'rumor', stifle: -0.1 }, graph: graphex },
      '/body/params/game/stifle',
    ],
    [
      'an initial law of the wrong length',
      { game: { name: 'sir', initial: [0.5, 0.5] }, graph: graphex },
      '/body/params/game/initial',
    ],
    [
      'an initial law not summing to 1',
      { game: { name: 'sis', initial: [0.5, 0.2] }, graph: graphex },
      '/body/params/game/initial',
    ],
    ['σ = 1', { game: sis, graph: { kind: 'graphex', sigma: 1 } }, '/body/params/graph/sigma'],
    [
      'a graphex over the size limit',
      { game: sis, graph: { kind: 'graphex', size: 5000 } },
      '/body/params/graph/size',
    ],
    [
      'a self-loop',
      edgeList([
        [0, 1],
        [2, 2],
      ]),
      '/body/params/graph/edges/1',
    ],
    ['a non-integer vertex id', edgeList([[0, 1.5]]), '/body/params/graph/edges/0/1'],
    ['a negative vertex id', edgeList([[-1, 1]]), '/body/params/graph/edges/0/0'],
    ['a vertex id out of range', edgeList([[0, 50_000]]), '/body/params/graph/edges/0/1'],
    ['an edge of three ends', edgeList([[0, 1, 2]]), '/body/params/graph/edges/0'],
    ['an edge given as a string', edgeList(['0-1']), '/body/params/graph/edges/0'],
    ['an empty edge list', edgeList([]), '/body/params/graph/edges'],
    [
      'more edges than the limit',
      edgeList(Array.from({ length: 200_001 }, (_, i) => [i % 50_000, (i + 1) % 50_000])),
      '/body/params/graph/edges',
    ],
    [
      'more core classes than core vertices',
      {
        game: sis,
        graph: {
          kind: 'edge_list',
          edges: [
            [0, 1],
            [1, 2],
          ],
          core_fraction: 0.5,
        },
        core_classes: 3,
      },
      '/body/params/core_classes',
    ],
    [
      'mirror-descent work over the limit',
      { game: { name: 'sir' }, graph: graphex, max_degree: 64, iterations: 1000 },
      '/body/params/iterations',
    ],
    [
      'simulation work over the limit',
      { game: sis, graph: { kind: 'graphex', size: 600 }, runs: 1000 },
      '/body/params/runs',
    ],
    ['a zero step', { game: sis, graph: graphex, step: 0 }, '/body/params/step'],
    [
      'an unknown periphery policy',
      { game: sis, graph: graphex, periphery_policy: 'greedy' },
      '/body/params/periphery_policy',
    ],
    ['k_max of 0', { game: sis, graph: graphex, max_degree: 0 }, '/body/params/max_degree'],
    ['an unknown field', { game: sis, graph: graphex, mood: 1 }, '/body/params/mood'],
  ];
  for (const [what, params, path] of bad) {
    it(`refuses ${what} with 400 naming ${path}`, () => api.assertRefused('mfg.graphex', params, path));
  }
});
