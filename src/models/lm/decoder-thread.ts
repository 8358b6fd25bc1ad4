// Entry point of a decoder thread: the batched decoders of the language models (every one), each with its
// cache slots. Steps arrive one at a time per model (decode-scheduler.ts); each is one or more session runs.
import { parentPort } from 'node:worker_threads';
import { openSession } from '../session.js';
import { BatchedDecoder } from './batched-decoder.js';
import type { DecoderLoadRequest, DecoderReply, DecoderRequest } from './decoder-messages.js';

const port = parentPort;
if (port === null) throw new Error('decoder-thread must run in a worker thread');

const decoders = new Map<string, BatchedDecoder>();

async function load(requests: DecoderLoadRequest[]): Promise<Array<{ key: string; error: string }>> {
  const errors: Array<{ key: string; error: string }> = [];
  for (const request of requests) {
    try {
      // One intra-op thread: a row's result must not depend on how a batch is split over threads.
      const { session } = await openSession(request.model, request.providers, 1);
      decoders.set(request.key, new BatchedDecoder(session, request.spec));
    } catch (error) {
      errors.push({ key: request.key, error: (error as Error).message });
    }
  }
  return errors;
}

function reply(message: DecoderReply): void {
  if (message.kind === 'logits') port?.postMessage(message, [message.logits.buffer as ArrayBuffer]);
  else port?.postMessage(message);
}

port.on('message', async (message: DecoderRequest) => {
  if (message.kind === 'load') {
    reply({ kind: 'loaded', errors: await load(message.models) });
    return;
  }
  const decoder = decoders.get(message.key);
  if (decoder === undefined) {
    reply({ kind: 'error', id: message.id, message: `model ${message.key} is not loaded on this thread` });
    return;
  }
  try {
    reply({ kind: 'logits', id: message.id, logits: await decoder.run(message.step) });
  } catch (error) {
    reply({ kind: 'error', id: message.id, message: (error as Error).message });
  }
});
