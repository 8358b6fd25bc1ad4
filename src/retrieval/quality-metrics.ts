// Retrieval quality: P@1 and MAP@R of a collection measured through the API (bench/retrieval.ts and the
// collections.index test read it), as pytorch-metric-learning's AccuracyCalculator
// defines them: every point (ids test-0 … test-(n−1)) searches the others by its id with k = R (the other
// points of its label, the most of any label), and the labels of its results (looked up by id, so the
// searches can leave payloads out) are scored.
export type BatchSearch = (
  queries: Array<{ id: string; k: number; with_payload: false }>,
) => Promise<Array<Array<{ id: string }>>>;

const labelOf = (labels: ArrayLike<number>, id: string | undefined) =>
  id === undefined ? undefined : labels[Number(id.slice('test-'.length))];

export async function apiRetrievalMetrics(
  labels: ArrayLike<number>,
  search: BatchSearch,
  batchSize: number,
): Promise<{ precision_at_1: number; map_at_r: number }> {
  const counts = new Map<number, number>();
  for (const label of Array.from(labels)) counts.set(label, (counts.get(label) ?? 0) + 1);
  const k = Math.max(...counts.values()) - 1;
  let precision = 0;
  let map = 0;
  let counted = 0;
  for (let start = 0; start < labels.length; start += batchSize) {
    const size = Math.min(batchSize, labels.length - start);
    const results = await search(
      Array.from({ length: size }, (_, i) => ({ id: `test-${start + i}`, k, with_payload: false as const })),
    );
    results.forEach((hits, i) => {
      const label = labels[start + i] as number;
      const relevant = (counts.get(label) as number) - 1;
      if (relevant === 0) return;
      counted++;
      if (labelOf(labels, hits[0]?.id) === label) precision++;
      let found = 0;
      let sum = 0;
      for (let rank = 1; rank <= relevant; rank++) {
        if (labelOf(labels, hits[rank - 1]?.id) === label) sum += ++found / rank;
      }
      map += sum / relevant;
    });
  }
  return { precision_at_1: precision / counted, map_at_r: map / counted };
}
