// What a run spent: point evaluations of the potentials and of the transport's fields. A potential
// evaluation is U_a and U_b (with their gradients) at one point, the unit every method here pays per
// point and step; a field evaluation is (b_t, s_t) at one point.
export interface Evaluations {
  potential: number;
  field: number;
}

export function newEvaluations(): Evaluations {
  return { potential: 0, field: 0 };
}
