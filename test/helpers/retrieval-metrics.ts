// P@1 and MAP@R over ranked result lists, as pytorch-metric-learning's AccuracyCalculator defines them
// (each query against the other items of its set; R = other items with the query's label).
export interface RankedQuery {
  label: number;
  /** Labels of the results, best first, the query itself excluded; at least R of them. */
  results: number[];
  /** R: how many other items share the query's label. */
  relevant: number;
}

export function precisionAtOneAndMapAtR(queries: RankedQuery[]): {
  precision_at_1: number;
  map_at_r: number;
} {
  let precision = 0;
  let map = 0;
  let counted = 0;
  for (const query of queries) {
    if (query.relevant === 0) continue;
    counted++;
    if (query.results[0] === query.label) precision++;
    let hits = 0;
    let sum = 0;
    for (let rank = 1; rank <= query.relevant; rank++) {
      if (query.results[rank - 1] === query.label) {
        hits++;
        sum += hits / rank;
      }
    }
    map += sum / query.relevant;
  }
  return { precision_at_1: precision / counted, map_at_r: map / counted };
}
