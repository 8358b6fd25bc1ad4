// feat.free-energy's plots. convergence.svg: the escorted Jarzynski estimates after the first n paths of each
// direction (how many paths an estimate needs), with the exact ΔF and the final BAR estimate. work.svg: the
// forward work W_F = −A_F and the negated reverse work −W_R = A_R; by Crooks' theorem the two densities cross
// at ΔF, so the plot shows where BAR's estimate and its interval sit between them.
import { histogramChartSpec, lineChartSpec, type Reference } from '../../lib/svg-plot.js';
import { prefixLogMeanExp } from '../../solvers/feat/estimators.js';
import type { Artifact } from '../job-record.js';
import { plotArtifact } from './plot-artifact.js';

interface FeatSummary {
  system: { name: string; dim: number };
  reference: { delta_f: number; kind: string } | null;
  transport: { kind: string };
  estimates: { bar: { delta_f: number; ci: [number, number] } };
  work: { histograms: { edges: number[]; forward: number[]; reverse: number[] } };
}

function references(summary: FeatSummary): Reference[] {
  const bar = summary.estimates.bar.delta_f;
  return [
    ...(summary.reference === null
      ? []
      : [
          {
            label: `ΔF ${summary.reference.kind} ${summary.reference.delta_f.toPrecision(4)}`,
            axis: 'x' as const,
            value: summary.reference.delta_f,
          },
        ]),
    { label: `BAR estimate ${bar.toPrecision(4)}`, axis: 'x' as const, value: bar },
  ];
}

export async function featPlots(
  summary: FeatSummary,
  logWeights: { forward: Float64Array; reverse: Float64Array },
): Promise<Artifact[]> {
  const subtitle = `${summary.system.name} (d = ${summary.system.dim}), transport ${summary.transport.kind}`;
  const forward = prefixLogMeanExp(logWeights.forward).map((value) => -value);
  const reverse = prefixLogMeanExp(logWeights.reverse);
  const paths = (count: number) => Array.from({ length: count }, (_, i) => i + 1);
  const levels = references(summary).map((reference) => ({ ...reference, axis: 'y' as const }));
  const convergence = await plotArtifact(
    'convergence.svg',
    lineChartSpec({
      title: 'Escorted Jarzynski estimates of ΔF against the number of paths',
      subtitle,
      x: { title: 'paths used (first n of each direction)', scale: 'log' },
      y: { title: 'ΔF estimate (kT)' },
      series: [
        { name: 'forward escorted Jarzynski', x: paths(forward.length), y: forward },
        { name: 'reverse escorted Jarzynski', x: paths(reverse.length), y: reverse },
      ],
      references: levels,
    }),
  );
  const { edges, forward: forwardCounts, reverse: reverseCounts } = summary.work.histograms;
  const [low, high] = summary.estimates.bar.ci;
  const work = await plotArtifact(
    'work.svg',
    histogramChartSpec({
      title: 'Work distributions: forward W_F and negated reverse −W_R',
      subtitle,
      x: { title: 'work (kT)' },
      y: { title: 'paths per bin' },
      histograms: [
        { name: 'forward work W_F', edges, counts: forwardCounts },
        { name: 'negated reverse work −W_R', edges, counts: reverseCounts },
      ],
      references: references(summary),
      band: { label: 'BAR 95 % bootstrap interval', from: low, to: high },
    }),
  );
  return [convergence, work];
}
