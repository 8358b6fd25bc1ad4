// BoundHistogram writes the lines prom-client's own Histogram writes for the same observations, byte for
// byte but the name, and promtool accepts them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import client from 'prom-client';
import { BoundHistogram } from '../src/lib/bound-histogram.js';
import { promtoolCheck } from './helpers/prometheus.js';

/** The exposition's lines with the metric's own name replaced. */
const normalised = (text: string, name: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.replaceAll(name, 'metric'));

describe('BoundHistogram', () => {
  const observations: Array<[Record<'model' | 'version', string>, number]> = [
    [{ model: 'a', version: '1' }, 0.0004],
    [{ model: 'a', version: '1' }, 0.001], // on a bound: counted in that bucket (le is ≤)
    [{ model: 'a', version: '1' }, 0.3],
    [{ model: 'b', version: '1' }, 7],
    [{ model: 'a', version: '2' }, 100], // above every bound: +Inf only
    [{ model: 'a', version: '1' }, 0],
  ];
  const buckets = [0.001, 0.01, 0.5, 10];

  it('writes what prom-client writes for the same observations', async () => {
    const theirs = new client.Registry();
    const ours = new client.Registry();
    const histogram = new client.Histogram({
      name: 'theirs_seconds',
      help: 'A latency.',
      labelNames: ['model', 'version'],
      buckets,
      registers: [theirs],
    });
    const bound = new BoundHistogram('ours_seconds', 'A latency.', ['model', 'version'], buckets, ours);
    for (const [labels, value] of observations) {
      histogram.observe(labels, value);
      bound.observe(labels, value);
    }
    const expected = normalised(await theirs.metrics(), 'theirs_seconds');
    const actual = normalised(await ours.metrics(), 'ours_seconds');
    assert.deepEqual(actual, expected);
    assert.ok(actual.includes('metric_bucket{le="+Inf",model="a",version="2"} 1'));
    assert.ok(actual.includes('metric_bucket{le="0.001",model="a",version="1"} 3'));
    const check = promtoolCheck(await ours.metrics());
    assert.equal(check.status, 0, check.output);

    ours.resetMetrics();
    assert.deepEqual(normalised(await ours.metrics(), 'ours_seconds'), [
      '# HELP metric A latency.',
      '# TYPE metric histogram',
    ]);
  });

  it('refuses a value that is not a finite number and bounds that do not increase', () => {
    const registry = new client.Registry();
    const bound = new BoundHistogram('latency_seconds', 'A latency.', ['model'], [1, 2], registry);
    assert.throws(() => bound.observe({ model: 'a' }, Number.NaN), TypeError);
    assert.throws(() => new BoundHistogram('other_seconds', 'x', ['model'], [2, 1], registry), /increase/);
  });
});
