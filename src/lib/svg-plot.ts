// Plots as standalone SVG documents, drawn by Vega-Lite and rendered by Vega's headless SVG renderer: no
// browser, no canvas, no fonts or data fetched (data are inline, text uses the viewer's sans-serif). Two
// kinds: line charts of series (convergence curves) and overlaid histograms (work distributions), each with
// labelled reference lines. Vega is imported when the first plot is drawn, so threads that never plot do
// not load it.
import type { TopLevelSpec } from 'vega-lite';

export interface Axis {
  /** The axis title, with the unit where there is one. */
  title: string;
  /** `auto`: logarithmic when every value is positive and they span more than two decades. */
  scale?: 'linear' | 'log' | 'auto';
}

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** A labelled line across the plot at `value` on the x or the y axis. */
export interface Reference {
  label: string;
  axis: 'x' | 'y';
  value: number;
}

export interface LineChart {
  title: string;
  subtitle?: string;
  x: Axis;
  y: Axis;
  series: Series[];
  references?: Reference[];
}

export interface Histogram {
  name: string;
  /** Bin edges, one more than counts. */
  edges: ArrayLike<number>;
  counts: ArrayLike<number>;
}

export interface HistogramChart {
  title: string;
  subtitle?: string;
  x: Axis;
  y: Axis;
  histograms: Histogram[];
  references?: Reference[];
  /** A shaded interval on the x axis, e.g. a confidence interval. */
  band?: { label: string; from: number; to: number };
}

const WIDTH = 640;
const HEIGHT = 360;

/** The axis's scale for `columns` of values (one per series); a loop, not Math.max(...values): series run to 10⁵ points. */
function resolvedScale(axis: Axis, columns: ArrayLike<number>[]): 'linear' | 'log' {
  if (axis.scale !== 'auto') return axis.scale ?? 'linear';
  let low = Infinity;
  let high = -Infinity;
  for (const column of columns) {
    for (let i = 0; i < column.length; i++) {
      const value = column[i] as number;
      if (!Number.isFinite(value)) continue;
      if (value <= 0) return 'linear';
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
  }
  return high / low > 100 ? 'log' : 'linear';
}

/** A scale that does not start at zero (vega-lite warns of `zero` on a log scale, which never does). */
const axisScale = (type: 'linear' | 'log') => (type === 'log' ? { type } : { type, zero: false });

/** A value a scale can place: finite, and positive on a logarithmic one. */
const drawable = (scale: 'linear' | 'log') => (value: number) =>
  Number.isFinite(value) && (scale === 'linear' || value > 0);

/** One dashed rule layer per axis; each reference is an entry of the legend (the shared color scale). */
function referenceLayers(references: Reference[], scales: { x: 'linear' | 'log'; y: 'linear' | 'log' }) {
  return (['x', 'y'] as const).flatMap((axis) => {
    const values = references.filter(
      (reference) => reference.axis === axis && drawable(scales[axis])(reference.value),
    );
    if (values.length === 0) return [];
    return [
      {
        data: { values },
        mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: {
          [axis]: { field: 'value', type: 'quantitative' },
          color: { field: 'label', type: 'nominal' },
        },
      },
    ];
  });
}

/** The color scale every layer shares: series first, then references and the band, in the order given. */
function colorEncoding(field: string, labels: string[]) {
  return { field, type: 'nominal', title: null, scale: { domain: labels } };
}

function frame(title: string, subtitle: string | undefined) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle === undefined ? title : { text: title, subtitle },
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    config: { font: 'sans-serif', legend: { orient: 'right', labelLimit: 320, symbolOpacity: 1 } },
  } as const;
}

/** A line per series; points the axes cannot place (non-finite, or ≤ 0 on a log axis) are left out. */
export function lineChartSpec(chart: LineChart): TopLevelSpec {
  const scales = {
    x: resolvedScale(
      chart.x,
      chart.series.map((series) => series.x),
    ),
    y: resolvedScale(
      chart.y,
      chart.series.map((series) => series.y),
    ),
  };
  const values = chart.series.flatMap((series) =>
    Array.from(series.x, (x, i) => ({ x, y: series.y[i] as number, series: series.name })).filter(
      (point) => drawable(scales.x)(point.x) && drawable(scales.y)(point.y),
    ),
  );
  return {
    ...frame(chart.title, chart.subtitle),
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5, clip: true },
        encoding: {
          x: {
            field: 'x',
            type: 'quantitative',
            title: chart.x.title,
            scale: axisScale(scales.x),
          },
          y: {
            field: 'y',
            type: 'quantitative',
            title: chart.y.title,
            scale: axisScale(scales.y),
          },
          color: colorEncoding('series', [
            ...chart.series.map((series) => series.name),
            ...(chart.references ?? []).map((reference) => reference.label),
          ]),
        },
      },
      ...referenceLayers(chart.references ?? [], scales),
    ],
  } as TopLevelSpec;
}

/** Overlaid, half-transparent histograms (counts per bin), a shaded band and reference lines. */
export function histogramChartSpec(chart: HistogramChart): TopLevelSpec {
  const bars = chart.histograms.flatMap((histogram) =>
    Array.from(histogram.counts, (count, i) => ({
      from: histogram.edges[i] as number,
      to: histogram.edges[i + 1] as number,
      count,
      series: histogram.name,
    })),
  );
  const scales = {
    x: 'linear',
    y: resolvedScale(
      chart.y,
      chart.histograms.map((histogram) => histogram.counts),
    ),
  } as const;
  const band =
    chart.band === undefined || !(chart.band.to >= chart.band.from)
      ? []
      : [
          {
            data: { values: [chart.band] },
            mark: { type: 'rect', opacity: 0.2 },
            encoding: {
              x: { field: 'from', type: 'quantitative' },
              x2: { field: 'to' },
              color: { field: 'label', type: 'nominal' },
            },
          },
        ];
  return {
    ...frame(chart.title, chart.subtitle),
    layer: [
      ...band,
      {
        data: { values: bars },
        mark: { type: 'rect', opacity: 0.55 },
        encoding: {
          x: { field: 'from', type: 'quantitative', title: chart.x.title, scale: { zero: false } },
          x2: { field: 'to' },
          y: { field: 'count', type: 'quantitative', title: chart.y.title, scale: { type: scales.y } },
          color: colorEncoding('series', [
            ...chart.histograms.map((histogram) => histogram.name),
            ...(chart.references ?? []).map((reference) => reference.label),
            ...(chart.band === undefined ? [] : [chart.band.label]),
          ]),
        },
      },
      ...referenceLayers(chart.references ?? [], scales),
    ],
  } as TopLevelSpec;
}

/** The spec drawn as a standalone SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A series whose x is its index (iteration 0, 1, …). */
export function indexed(name: string, y: ArrayLike<number>): Series {
  return { name, x: Array.from({ length: y.length }, (_, i) => i), y };
}
