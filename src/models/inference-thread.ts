// Entry point of an inference worker thread: holds one ONNX session per model and runs requests posted by
// the InferencePool, so a forward pass never blocks the HTTP event loop.
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { ModelLoadRequest, ModelLoadResult, ThreadReply, ThreadRequest } from './inference-messages.js';
import { ModelRunError } from './model-run-error.js';
import { checkSignature, openSession, runSession, warmUpInputs } from './session.js';
import type { Tensor } from './tensor.js';

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort;
if (port === null) throw new Error('inference-thread must run in a worker thread');

async function load(request: ModelLoadRequest): Promise<ModelLoadResult> {
  try {
    const opened = await openSession(request.model, request.providers, request.intraOpThreads, {
      memoryArena: request.memoryArena,
    });
    checkSignature(opened.session, request.inputs, request.outputs);
    await runSession(
      opened.session,
      warmUpInputs(request.inputs),
      request.outputs.map((spec) => spec.name),
    );
    sessions.set(request.key, opened.session);
    return { key: request.key, provider: opened.provider, failures: opened.failures };
  } catch (error) {
    return { key: request.key, failures: [], error: (error as Error).message };
  }
}

function transferables(outputs: Record<string, Tensor>): ArrayBuffer[] {
  return Object.values(outputs).map((tensor) => tensor.data.buffer as ArrayBuffer);
}

port.on('message', async (message: ThreadRequest) => {
  let reply: ThreadReply;
  if (message.kind === 'load') {
    reply = { kind: 'loaded', results: await Promise.all(message.models.map(load)) };
    port.postMessage(reply);
    return;
  }
  const session = sessions.get(message.key);
  if (session === undefined) {
    port.postMessage({ kind: 'error', id: message.id, message: `model ${message.key} is not loaded` });
    return;
  }
  try {
    const started = performance.now();
    const outputs = await runSession(session, message.inputs, message.outputs);
    const computeSeconds = (performance.now() - started) / 1000;
    reply = { kind: 'result', id: message.id, outputs, computeSeconds };
    port.postMessage(reply, transferables(outputs));
  } catch (error) {
    const modelRun = error instanceof ModelRunError;
    port.postMessage({ kind: 'error', id: message.id, message: (error as Error).message, modelRun });
  }
});
