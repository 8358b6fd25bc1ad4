// Entry point of a decoder thread: one ONNX session per language model and the open sequences' caches.
// Steps of different sequences interleave in arrival order; each is one session run.
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { openSession } from '../session.js';
import type { DecoderLoadRequest, DecoderReply, DecoderRequest } from './decoder-messages.js';
import { KvCacheDecoder } from './kv-decoder.js';

const port = parentPort;
if (port === null) throw new Error('decoder-thread must run in a worker thread');

const models = new Map<string, { session: ort.InferenceSession; cache: DecoderLoadRequest['cache'] }>();
const sequences = new Map<number, KvCacheDecoder>();

async function load(requests: DecoderLoadRequest[]): Promise<Array<{ key: string; error: string }>> {
  const errors: Array<{ key: string; error: string }> = [];
  for (const request of requests) {
    try {
      // One intra-op thread: the pool's threads are the parallelism.
      const { session } = await openSession(request.model, request.providers, 1);
      models.set(request.key, { session, cache: request.cache });
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
  switch (message.kind) {
    case 'load':
      reply({ kind: 'loaded', errors: await load(message.models) });
      return;
    case 'open': {
      const model = models.get(message.key);
      // An unknown key cannot happen (the pool opens only loaded models); the first step reports it.
      if (model !== undefined) {
        sequences.set(message.sequence, new KvCacheDecoder(model.session, model.cache, message.useCache));
      }
      return;
    }
    case 'close':
      sequences.get(message.sequence)?.close();
      sequences.delete(message.sequence);
      return;
    case 'step': {
      const decoder = sequences.get(message.sequence);
      if (decoder === undefined) {
        reply({ kind: 'error', id: message.id, message: `sequence ${message.sequence} is not open` });
        return;
      }
      try {
        reply({ kind: 'logits', id: message.id, logits: await decoder.step(message.ids) });
      } catch (error) {
        reply({ kind: 'error', id: message.id, message: (error as Error).message });
      }
    }
  }
});
