// What a plot artifact draws, read back from its SVG: the document must be well-formed XML (checked by
// fast-xml-parser's validator), and each line series is one Vega line path whose points are its M/L
// commands, named by the `series` field in the path's accessible label.
import assert from 'node:assert/strict';
import { XMLValidator } from 'fast-xml-parser';
import type { FastifyInstance } from 'fastify';

/** Points per line series, by series name; fails unless `svg` is a well-formed SVG document. */
export function plottedLines(svg: string): Map<string, number> {
  const valid = XMLValidator.validate(svg);
  assert.equal(valid, true, `not well-formed XML: ${JSON.stringify(valid)}`);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const lines = new Map<string, number>();
  for (const path of svg.matchAll(/<path [^>]*aria-roledescription="line mark"[^>]*>/g)) {
    const label = /aria-label="([^"]*)"/.exec(path[0])?.[1] ?? '';
    const name = /(?:^|; )series: (.*)$/.exec(label)?.[1];
    const d = /\sd="([^"]*)"/.exec(path[0])?.[1];
    assert.ok(name !== undefined && d !== undefined, `a line path without a series or points: ${path[0]}`);
    lines.set(name, (d.match(/[ML]/g) ?? []).length);
  }
  return lines;
}

/**
 * A finished job's `name` plot: listed in the result's `plots` and the job's links, served as SVG, and
 * drawing exactly the `expected` series with these point counts.
 */
export async function assertJobPlot(
  app: FastifyInstance,
  job: { id: string; result: { plots?: string[] }; links?: { plots?: string[] } },
  name: string,
  expected: Record<string, number>,
): Promise<string> {
  assert.ok(job.result.plots?.includes(name), `result.plots ${JSON.stringify(job.result.plots)}`);
  const url = `/v1/jobs/${job.id}/artifacts/${name}`;
  const response = await app.inject(url);
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['content-type'], 'image/svg+xml');
  assert.match(String(response.headers['content-disposition']), /^inline/);
  const fetched = await app.inject(`/v1/jobs/${job.id}`);
  assert.ok(fetched.json().links.plots.includes(url));
  assert.deepEqual(Object.fromEntries(plottedLines(response.body)), expected);
  return response.body;
}
