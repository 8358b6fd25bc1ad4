import { loadConfig } from './dist/src/config.js';
import { buildApp } from './dist/src/server/app.js';
import { readFileSync, mkdtempSync } from 'node:fs';
process.env.DATA_DIR = mkdtempSync('/tmp/ib-'); process.env.LOG_LEVEL = 'warn'; delete process.env.REDIS_URL;
const app = await buildApp(loadConfig());
await app.ready();
const body = readFileSync('/tmp/embed-body.json', 'utf8');
const oip = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.1, 0.2] }] });
const embed = () => app.inject({ method: 'POST', url: '/v1/embeddings', headers: { 'content-type': 'application/json' }, payload: body });
for (;;) { const r = await embed(); if (r.statusCode === 200) break; await new Promise((r) => setTimeout(r, 200)); }
const targets = {
  live: () => app.inject({ method: 'GET', url: '/health/live' }),
  embed,
  oip: () => app.inject({ method: 'POST', url: '/v2/models/spiral-mlp/infer', headers: { 'content-type': 'application/json' }, payload: oip }),
};
const r0 = await targets.oip(); if (r0.statusCode !== 200) console.log(r0.body);
for (let round = 0; round < 3; round++) for (const [name, fn] of Object.entries(targets)) {
  for (let i = 0; i < 300; i++) await fn();
  const n = 2000; const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const wall = Number(process.hrtime.bigint() - t0) / n / 1000; const c = process.cpuUsage(c0);
  console.log(name.padEnd(6), 'wall us', wall.toFixed(1), 'cpu us', ((c.user + c.system) / n).toFixed(1));
}
process.exit(0);
