// Inference on the event loop for batches that compute in less time than the hop to a thread would take.
// A 1-row request of a small network computes in ~40 µs, while a request sent to an idle inference thread
// spends 0.2–0.6 ms there (the thread wakes cold) and costs two messages; at one connection that made
// meanserve answer at a third of a server running the model in its handler (bench/http.ts). Each
// micro-batched CPU model that can compute a row within `maxSeconds` gets a second session on the main
// thread, and a batch runs there when it has at most as many rows as calibration showed to fit the bound,
// so no other request waits behind it longer than that. Everything larger goes to the threads: a long
// inference never blocks the loop. The bound (INLINE_INFERENCE_MAX_US, 250 µs by default) sits below the
// hop, not near the cost of the models we serve: at 100 µs the embedders (~100 µs a row on a 2-core VM)
// qualified at some starts and not at others, and single-image embedding requests answered at two thirds
// the rate, with half again the CPU a request, on the starts they did not.
import type * as ort from 'onnxruntime-node';
import type { TensorSpec } from '../schemas/manifest.js';
import type { Computed } from './inference-messages.js';
import { openSession, runSession, warmUpInputs } from './session.js';
import type { Tensor } from './tensor.js';

/**
 * A file above this holds more than a million float32 weights: two MFLOP a row at the least, more than a
 * hundred microseconds on a CPU core of this class, so such a model is not calibrated at all.
 */
const MAX_MODEL_BYTES = 4 * 1024 * 1024;
/** Runs per calibrated batch size; the fastest counts (the others were preempted or cold). */
const CALIBRATION_RUNS = 20;

interface InlineModel {
  session: ort.InferenceSession;
  outputs: string[];
  /** The largest batch calibration ran within the bound. */
  maxRows: number;
}

export class InlineInference {
  private readonly models = new Map<string, InlineModel>();

  /** `maxSeconds` 0 turns inline inference off. */
  constructor(private readonly maxSeconds: number) {}

  /**
   * Opens a main-thread session for a micro-batched CPU model and calibrates it: zero-filled batches of
   * 1, 2, 4, … rows (up to `maxBatchSize`), each run CALIBRATION_RUNS times, until the fastest run of a
   * size exceeds the bound. This blocks the event loop for a few milliseconds, once. A model whose single row does not
   * fit, or that cannot open here, is served by the threads alone.
   */
  async add(
    key: string,
    model: Uint8Array,
    inputs: TensorSpec[],
    outputs: string[],
    maxBatchSize: number,
  ): Promise<void> {
    if (this.maxSeconds <= 0 || model.byteLength > MAX_MODEL_BYTES) return;
    let session: ort.InferenceSession;
    try {
      ({ session } = await openSession(model, ['cpu'], 1));
    } catch {
      return; // the threads hold the model's sessions; inline is only a shortcut
    }
    const maxRows = await calibrate(session, inputs, outputs, maxBatchSize, this.maxSeconds).catch(() => 0);
    if (maxRows === 0) await session.release();
    else this.models.set(key, { session, outputs, maxRows });
  }

  async remove(key: string): Promise<void> {
    const model = this.models.get(key);
    this.models.delete(key);
    await model?.session.release();
  }

  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((key) => this.remove(key)));
  }

  /** The most rows one batch of the model may have to run inline; 0 when it never does. */
  maxRows(key: string): number {
    return this.models.get(key)?.maxRows ?? 0;
  }

  /** Runs a batch of at most maxRows(key) rows on the event loop. */
  async run(key: string, inputs: Record<string, Tensor>): Promise<Computed> {
    const model = this.models.get(key);
    if (model === undefined) throw new Error(`model ${key} has no inline session`);
    const started = performance.now();
    const outputs = await runSession(model.session, inputs, model.outputs);
    return { outputs, computeSeconds: (performance.now() - started) / 1000 };
  }
}

/** The largest batch of 1, 2, 4, … rows whose fastest run takes at most `maxSeconds`; 0 when none does. */
async function calibrate(
  session: ort.InferenceSession,
  inputs: TensorSpec[],
  outputs: string[],
  maxBatchSize: number,
  maxSeconds: number,
): Promise<number> {
  // A session's first runs plan its memory and are several times slower than the rest: not the cost.
  await fastestRun(session, warmUpInputs(inputs), outputs);
  let maxRows = 0;
  for (let rows = 1; rows <= maxBatchSize; rows *= 2) {
    if ((await fastestRun(session, warmUpInputs(inputs, rows), outputs)) > maxSeconds) break;
    maxRows = rows;
  }
  return maxRows;
}

async function fastestRun(
  session: ort.InferenceSession,
  inputs: Record<string, Tensor>,
  outputs: string[],
): Promise<number> {
  let fastest = Infinity;
  for (let run = 0; run < CALIBRATION_RUNS; run++) {
    const started = performance.now();
    await runSession(session, inputs, outputs);
    fastest = Math.min(fastest, (performance.now() - started) / 1000);
  }
  return fastest;
}
