// Builds the `fashion-mnist` collection on a running meanserve from the full Debian dataset: all 70 000
// images (ids train-<i> and test-<i>, payload label, class_name, split, index), embedded by the server's
// collections.index jobs with the default embedding model.
//    npm run collection:fashion-mnist [-- --url http://127.0.0.1:8080 --name fashion-mnist --index hnsw]
// Needs dataset-fashion-mnist where the server (or its BullMQ workers) run: FASHION_MNIST_DIR.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.MEANSERVE_URL ?? 'http://127.0.0.1:8080' },
    name: { type: 'string', default: 'fashion-mnist' },
    model: { type: 'string', default: 'fmnist-embed-mf' },
    index: { type: 'string', default: 'hnsw' },
  },
});
const { url, name, model, index } = values;
const SPLITS = { train: 60_000, test: 10_000 } as const;

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? undefined : JSON.parse(text)) as T };
}

const created = await call('POST', '/v1/collections', { name, model, index: { type: index } });
if (created.status === 409)
  console.log(`collection ${name} exists; its points with the same ids are replaced`);
else if (created.status !== 201)
  throw new Error(`creating ${name}: ${created.status} ${JSON.stringify(created.json)}`);

for (const split of Object.keys(SPLITS) as Array<keyof typeof SPLITS>) {
  const submitted = await call<{ id: string }>('POST', '/v1/jobs', {
    type: 'collections.index',
    params: { collection: name, source: { split } },
  });
  if (submitted.status !== 202) throw new Error(`submitting ${split}: ${JSON.stringify(submitted.json)}`);
  for (;;) {
    const { json: job } = await call<{ state: string; progress: { message?: string }; error?: string }>(
      'GET',
      `/v1/jobs/${submitted.json.id}`,
    );
    if (job.state === 'failed' || job.state === 'cancelled')
      throw new Error(`${split}: ${job.state}: ${job.error}`);
    process.stdout.write(`\r${split}: ${job.state} ${job.progress.message ?? ''}      `);
    if (job.state === 'completed') break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  console.log();
}

const expected = SPLITS.train + SPLITS.test;
for (;;) {
  const { json: info } = await call<{ count: number }>('GET', `/v1/collections/${name}`);
  process.stdout.write(`\rapplied: ${info.count} of at least ${expected} points`);
  if (info.count >= expected) break;
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
console.log(`\ncollection ${name} is ready`);
