// Entry point of an inference worker, a thread or a child process (inference-isolation.ts): holds one ONNX
// session per model and runs the requests its InferencePool posts, so a forward pass never blocks the HTTP
// event loop.
import { Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { readMessages, writeMessage } from '../lib/message-pipe.js';
import { DATA_PIPE_FD, exitWithHost } from '../lib/thread.js';
import type { ModelLoadRequest, ModelLoadResult, WorkerReply, WorkerRequest } from './inference-messages.js';
import { ModelRunError } from './model-run-error.js';
import { checkSignature, openSession, runSession, warmUpInputs } from './session.js';
import type { Tensor } from './tensor.js';

/** The pool's end of the channel: a thread's port, or a process's data pipe (which copies, not moves). */
interface Host {
  receive(listener: (request: WorkerRequest) => void): void;
  send(reply: WorkerReply, transfer?: ArrayBuffer[]): void;
}

function connect(): Host {
  const port = parentPort;
  if (port !== null) {
    return {
      receive: (listener) => port.on('message', listener),
      send: (reply, transfer) => port.postMessage(reply, transfer),
    };
  }
  if (process.send === undefined) {
    throw new Error('inference-worker must run in a worker thread or a child process');
  }
  exitWithHost();
  const pipe = new Socket({ fd: DATA_PIPE_FD, readable: true, writable: true });
  return {
    receive: (listener) => readMessages(pipe, (request) => listener(request as WorkerRequest)),
    send: (reply) => writeMessage(pipe, reply),
  };
}

const host = connect();
const sessions = new Map<string, ort.InferenceSession>();

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

host.receive(async (message) => {
  if (message.kind === 'load') {
    host.send({ kind: 'loaded', results: await Promise.all(message.models.map(load)) });
    return;
  }
  const session = sessions.get(message.key);
  if (session === undefined) {
    host.send({ kind: 'error', id: message.id, message: `model ${message.key} is not loaded` });
    return;
  }
  try {
    const started = performance.now();
    const outputs = await runSession(session, message.inputs, message.outputs);
    const computeSeconds = (performance.now() - started) / 1000;
    host.send({ kind: 'result', id: message.id, outputs, computeSeconds }, transferables(outputs));
  } catch (error) {
    const modelRun = error instanceof ModelRunError;
    host.send({ kind: 'error', id: message.id, message: (error as Error).message, modelRun });
  }
});
