// The baseline for bench/http.ts: Fastify 5's hello world, so meanserve's numbers read as a fraction of what
// Fastify itself manages on the same machine in the same run. The response schema matches the fastify/benchmarks
// server and meanserve's own routes, which serialize through schemas too.
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const app = Fastify({ logger: false });
app.get(
  '/',
  { schema: { response: { 200: { type: 'object', properties: { hello: { type: 'string' } } } } } },
  async () => ({ hello: 'world' }),
);
await app.listen({ port, host: '127.0.0.1' });
