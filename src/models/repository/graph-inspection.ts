// What an uploaded ONNX graph takes and gives, read by onnxruntime in a thread of its own; or why
// onnxruntime cannot load or run it (not ONNX, truncated, an operator it lacks, a shape it cannot run).
import { startThread } from '../../lib/thread.js';
import type { TensorSpec } from '../../schemas/manifest.js';

export type GraphInspection = { inputs: TensorSpec[]; outputs: TensorSpec[] } | { error: string };

export function inspectGraph(model: Uint8Array): Promise<GraphInspection> {
  const worker = startThread(import.meta.url, 'graph-inspection-thread');
  return new Promise<GraphInspection>((resolve) => {
    worker.once('message', (reply: GraphInspection) => resolve(reply));
    worker.once('error', (error) => resolve({ error: `inspection thread failed: ${error.message}` }));
    worker.once('exit', () => resolve({ error: 'inspection thread exited' }));
    worker.postMessage(model);
  }).finally(() => {
    // The thread has released its session (or never opened one): ending it cannot cut a native call short.
    void worker.terminate();
  });
}
