// Entry point of a one-off child process that opens an uploaded graph with onnxruntime, reads its inputs
// and outputs, runs it once on zeros, and exits — before anything is stored. A process, not a thread: a run
// that does not end can be killed (a thread cannot be stopped inside onnxruntime's native run, and the
// server could not even exit while one ran).
import type * as ort from 'onnxruntime-node';
import { exitWithHost } from '../../lib/thread.js';
import type { TensorSpec } from '../../schemas/manifest.js';
import { openSession, runSession, warmUpInputs } from '../session.js';
import { DATATYPE_OF_ORT_TYPE } from '../tensor.js';
import type { GraphInspection } from './graph-inspection.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('graph-inspection-process must run as a child process with IPC');
exitWithHost();

function specOf(kind: string, meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) throw new Error(`${kind} '${meta.name}' is not a tensor`);
  const datatype = DATATYPE_OF_ORT_TYPE[meta.type];
  if (datatype === undefined)
    throw new Error(`${kind} '${meta.name}' has type ${meta.type}, which is not served`);
  // A named (symbolic) or unknown dimension is dynamic.
  return {
    name: meta.name,
    datatype,
    shape: meta.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1)),
  };
}

process.once('message', async (model: Uint8Array) => {
  let reply: GraphInspection;
  let session: ort.InferenceSession | undefined;
  try {
    session = (await openSession(model, ['cpu'], 1)).session;
    const inputs = session.inputMetadata.map((meta) => specOf('input', meta));
    const outputs = session.outputMetadata.map((meta) => specOf('output', meta));
    await runSession(
      session,
      warmUpInputs(inputs),
      outputs.map((spec) => spec.name),
    );
    reply = { inputs, outputs };
  } catch (error) {
    reply = { error: (error as Error).message.split('\n')[0] as string };
  }
  await session?.release();
  send(reply, () => process.disconnect());
});

// Started and its modules loaded: the parent's clock for the graph starts now.
send('ready');
