// The exponential rate of an NI series: least squares of log NI(t) = a − κt over the decaying phase, which is
// the reports from the start until NI first falls below 3× its floor (the median of the last quarter of the
// run: particle and binning noise). The floor's share of NI in the window is under a third, so κ is biased
// low by at most that much at the window's end; the fit's R² says how exponential the decay is.

import { fitLine } from '../../lib/fit-line.js';

export interface ExponentialFit {
  /** κ in NI ≈ e^{a − κt}, per unit of time t = step·h. */
  rate: number;
  /** Coefficient of determination of the log-linear fit. */
  r_squared: number;
  /** Median NI over the last quarter of the run. */
  floor: number;
  /** First and last time of the fitted window and its number of points. */
  from_time: number;
  to_time: number;
  points: number;
}

export function fitExponentialDecay(times: number[], values: number[]): ExponentialFit | undefined {
  const tail = values.slice(Math.floor((values.length * 3) / 4)).sort((a, b) => a - b);
  const floor = tail[Math.floor(tail.length / 2)] ?? 0;
  let end = 0;
  while (end < values.length && (values[end] as number) > 3 * floor) end++;
  if (end < 3) return undefined;
  const x = times.slice(0, end);
  const fit = fitLine(x, values.slice(0, end).map(Math.log));
  return {
    rate: -fit.slope,
    r_squared: fit.r2,
    floor,
    from_time: x[0] as number,
    to_time: x[end - 1] as number,
    points: end,
  };
}
