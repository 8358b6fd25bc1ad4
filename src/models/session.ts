// ONNX Runtime sessions: execution-provider resolution, metadata checks, warm-up and one run.
// onnxruntime-node's run() computes on the calling thread's event loop: inference threads use these, and the
// main thread too for the batches calibrated to compute within INLINE_INFERENCE_MAX_US (inline-inference.ts).
import * as ort from 'onnxruntime-node';
import { externalTensors } from '../lib/onnx-external-data.js';
import type { TensorSpec } from '../schemas/manifest.js';
import { ModelRunError } from './model-run-error.js';
import { allocate, DATATYPE_OF_ORT_TYPE, ORT_TYPE, type Tensor, type TensorData } from './tensor.js';

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider that took the model. */
  provider: string;
  /** Providers tried before it, each with why it failed (a CUDA build missing its libraries, say). */
  failures: string[];
}

/**
 * Where onnxruntime looks for a tensor's external data: a path under which no file can ever exist, since
 * /dev/null is not a directory. Left unset it looks in the working directory (models are loaded from
 * bytes), so a graph could read the server's files; refusing such graphs first (below) is the clear
 * answer, this the wall behind it should a tensor hide where that reading does not look.
 */
const NO_EXTERNAL_DATA = '/dev/null';

/** A model with a tensor whose bytes are in another file is refused before onnxruntime opens it. */
function refuseExternalData(model: Uint8Array): void {
  const [first, ...rest] = externalTensors(model);
  if (first === undefined) return;
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  throw new Error(
    `tensor '${first.name}'${more} keeps its bytes in another file ('${first.location}'); only self-contained models are served: save the model with its weights inside the file`,
  );
}

/**
 * Tries each provider in order and keeps the first that loads the model. onnxruntime-node does not fall
 * back by itself: a session created with ['cuda', 'cpu'] fails outright when CUDA is missing.
 *
 * `memoryArena: false` for graphs whose buffer sizes a request's values decide (uploads). After an
 * allocation it cannot make (a ConstantOfShape of 10^12 elements), onnxruntime's CPU arena keeps asking for
 * regions of that order: the next request of any size reserved the largest mapping the kernel would grant
 * (25 GB on this 24 GB machine, strace shows) in the server's address space, and from then on the kernel
 * refused the server every fork — each model upload's inspection process, each job process — with ENOMEM.
 * Without the arena each buffer is its own allocation, given back when the run ends (the embedding
 * model's run took the same time without it).
 */
export async function openSession(
  model: Uint8Array,
  providers: readonly string[],
  intraOpThreads: number,
  { memoryArena = true }: { memoryArena?: boolean } = {},
): Promise<OpenedSession> {
  refuseExternalData(model);
  const failures: string[] = [];
  for (const provider of providers) {
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        intraOpNumThreads: intraOpThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        enableCpuMemArena: memoryArena,
        extra: { session: { model_external_initializers_file_folder_path: NO_EXTERNAL_DATA } },
      });
      return { session, provider, failures };
    } catch (error) {
      failures.push(`${provider}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no execution provider could load the model (${failures.join('; ')})`);
}

/** Checks that the graph's inputs and outputs are the ones the manifest declares. */
export function checkSignature(
  session: ort.InferenceSession,
  inputs: TensorSpec[],
  outputs: TensorSpec[],
): void {
  const compare = (
    kind: string,
    actual: readonly ort.InferenceSession.ValueMetadata[],
    declared: TensorSpec[],
  ) => {
    const byName = new Map(actual.map((meta) => [meta.name, meta]));
    if (byName.size !== declared.length || declared.some((spec) => !byName.has(spec.name))) {
      throw new Error(
        `manifest ${kind} [${declared.map((s) => s.name).join(', ')}] differ from the graph's [${[...byName.keys()].join(', ')}]`,
      );
    }
    for (const spec of declared) {
      const meta = byName.get(spec.name);
      if (meta?.isTensor && DATATYPE_OF_ORT_TYPE[meta.type] !== spec.datatype) {
        throw new Error(
          `${kind.slice(0, -1)} '${spec.name}' is ${meta.type} in the graph, ${spec.datatype} in the manifest`,
        );
      }
    }
  };
  compare('inputs', session.inputMetadata, inputs);
  compare('outputs', session.outputMetadata, outputs);
}

/**
 * Zero-filled inputs with every dynamic dimension set to 1 — the smallest request the model accepts — or,
 * for a batched model, a dynamic first dimension set to `rows`.
 */
export function warmUpInputs(inputs: TensorSpec[], rows = 1): Record<string, Tensor> {
  return Object.fromEntries(
    inputs.map((spec) => {
      const shape = spec.shape.map((dim, axis) => (dim >= 0 ? dim : axis === 0 ? rows : 1));
      const count = shape.reduce((a, b) => a * b, 1);
      return [spec.name, { datatype: spec.datatype, shape, data: allocate(spec.datatype, count) }];
    }),
  );
}

export async function runSession(
  session: ort.InferenceSession,
  inputs: Record<string, Tensor>,
  outputNames: readonly string[],
): Promise<Record<string, Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    feeds[name] = new ort.Tensor(
      ORT_TYPE[tensor.datatype] as 'float32',
      tensor.data as Float32Array,
      tensor.shape,
    );
  }
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds, [...outputNames]);
  } catch (error) {
    throw ModelRunError.fromOnnxruntime((error as Error).message);
  }
  const outputs: Record<string, Tensor> = {};
  for (const name of outputNames) {
    const value = results[name] as ort.Tensor;
    const datatype = DATATYPE_OF_ORT_TYPE[value.type];
    if (datatype === undefined) throw new Error(`output '${name}' has unsupported type ${value.type}`);
    outputs[name] = { datatype, shape: [...value.dims], data: value.data as TensorData };
  }
  return outputs;
}
