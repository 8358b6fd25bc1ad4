// The baseline for OIP inference in bench/http.ts: what a user could write in twenty lines — Fastify and
// onnxruntime-node, spiral-mlp loaded once, session.run awaited in the handler. No validation beyond what
// it needs, no batching, no threads of its own, no metrics, logging, auth or limits.
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create('models/spiral-mlp/model.onnx', { intraOpNumThreads: 1 });
const app = Fastify({ logger: false });
app.post('/v2/models/spiral-mlp/infer', async (request) => {
  const input = (request.body as { inputs: Array<{ shape: number[]; data: number[] }> }).inputs[0];
  if (input === undefined) throw new Error('no input');
  const x = new ort.Tensor('float32', Float32Array.from(input.data.flat()), input.shape);
  const results = await session.run({ x });
  return {
    model_name: 'spiral-mlp',
    model_version: '1',
    outputs: Object.entries(results).map(([name, tensor]) => ({
      name,
      datatype: tensor.type === 'int64' ? 'INT64' : 'FP32',
      shape: tensor.dims,
      data: Array.from(tensor.data as Float32Array | BigInt64Array, Number),
    })),
  };
});
app.get('/health', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
