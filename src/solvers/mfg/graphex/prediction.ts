// The model's mean field on a given graph and the paper's Δμ (meanfield.md §3, metric (a)):
//   μ_t = the mixture of the core classes' laws μ_m,t and the periphery degrees' laws μ^k_t, weighted by
//   the graph's own counts of each (overflow vertices count as the last core class);
//   Δμ = (1/(2T)) Σ_{t=0}^{T−1} E‖μ̂_t − μ_t‖₁ ∈ [0, 1], the expectation a mean over the simulated runs.
// Reported overall and for the core and periphery vertices alone (each against its own part's prediction).
import { CORE, OVERFLOW, type Partition, PERIPHERY } from './partition.js';
import { PARTS } from './simulate.js';

export interface PredictedLaws {
  /** steps·S each; a part without vertices predicts nothing (its Δμ is null). */
  overall: Float64Array;
  core: Float64Array;
  periphery: Float64Array;
  overflow: Float64Array;
}

/**
 * `coreLaws` is μ_m,t as (T + 1)·M·S; `peripheryLaws[k]` is μ^k_t as (T + 1)·S for each degree with
 * vertices.
 */
export function predictLaws(
  partition: Partition,
  states: number,
  steps: number,
  coreLaws: Float64Array,
  peripheryLaws: Array<Float64Array | undefined>,
): PredictedLaws {
  const classes = partition.structure.classes;
  const core = new Float64Array(steps * states);
  const periphery = new Float64Array(steps * states);
  const overflow = new Float64Array(steps * states);
  const overall = new Float64Array(steps * states);
  let coreVertices = 0;
  for (let m = 0; m < classes; m++) coreVertices += partition.classCounts[m] as number;
  let peripheryVertices = 0;
  for (let k = 0; k <= partition.maxDegree; k++) peripheryVertices += partition.degreeCounts[k] as number;
  const total = coreVertices + peripheryVertices + partition.overflow;
  for (let t = 0; t < steps; t++) {
    for (let s = 0; s < states; s++) {
      const i = t * states + s;
      let coreMass = 0;
      for (let m = 0; m < classes; m++) {
        coreMass +=
          (partition.classCounts[m] as number) * (coreLaws[(t * classes + m) * states + s] as number);
      }
      let peripheryMass = 0;
      for (let k = 1; k <= partition.maxDegree; k++) {
        const law = peripheryLaws[k];
        if (law !== undefined) peripheryMass += (partition.degreeCounts[k] as number) * (law[i] as number);
      }
      const overflowLaw = coreLaws[(t * classes + classes - 1) * states + s] as number;
      core[i] = coreVertices > 0 ? coreMass / coreVertices : 0;
      periphery[i] = peripheryVertices > 0 ? peripheryMass / peripheryVertices : 0;
      overflow[i] = overflowLaw;
      overall[i] = total > 0 ? (coreMass + peripheryMass + partition.overflow * overflowLaw) / total : 0;
    }
  }
  return { overall, core, periphery, overflow };
}

export interface DeltaMu {
  /** null on a graph without vertices. */
  overall: number | null;
  core: number | null;
  periphery: number | null;
}

/** Δμ of one run from its counts [t][part][s] (simulate.ts). */
export function deltaMuOfRun(
  counts: Int32Array,
  predicted: PredictedLaws,
  states: number,
  steps: number,
): DeltaMu {
  const distance = (parts: number[], law: Float64Array) => {
    let sum = 0;
    for (let t = 0; t < steps; t++) {
      let vertices = 0;
      for (const part of parts) {
        for (let s = 0; s < states; s++) vertices += counts[(t * PARTS + part) * states + s] as number;
      }
      if (vertices === 0) return null;
      for (let s = 0; s < states; s++) {
        let observed = 0;
        for (const part of parts) observed += counts[(t * PARTS + part) * states + s] as number;
        sum += Math.abs(observed / vertices - (law[t * states + s] as number));
      }
    }
    return sum / (2 * steps);
  };
  return {
    overall: distance([CORE, PERIPHERY, OVERFLOW], predicted.overall),
    core: distance([CORE], predicted.core),
    periphery: distance([PERIPHERY], predicted.periphery),
  };
}

/** The simulated mean field overall, steps·S, averaged over runs. */
export function simulatedOverall(runs: Int32Array[], states: number, steps: number): Float64Array {
  const law = new Float64Array(steps * states);
  for (const counts of runs) {
    for (let t = 0; t < steps; t++) {
      let vertices = 0;
      for (let i = t * PARTS * states; i < (t + 1) * PARTS * states; i++) vertices += counts[i] as number;
      if (vertices === 0) continue;
      for (let s = 0; s < states; s++) {
        let observed = 0;
        for (let part = 0; part < PARTS; part++)
          observed += counts[(t * PARTS + part) * states + s] as number;
        law[t * states + s] = (law[t * states + s] as number) + observed / vertices / runs.length;
      }
    }
  }
  return law;
}
