// A plot as a job artifact: the SVG document of a chart spec, stored beside the job's JSON artifacts and
// named in the result's `plots`, so a person (or the job page) can look at a curve instead of an array.
import { renderSvg } from '../../lib/svg-plot.js';
import type { Artifact } from '../job-record.js';

const SVG_CONTENT_TYPE = 'image/svg+xml';

export async function plotArtifact(name: string, spec: Parameters<typeof renderSvg>[0]): Promise<Artifact> {
  return { name, contentType: SVG_CONTENT_TYPE, data: new TextEncoder().encode(await renderSvg(spec)) };
}
