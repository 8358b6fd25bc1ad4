// Open Inference Protocol: Triton's binary tensor data against plain JSON, the same requests to the same
// server in the same run. Two shapes of traffic: large inputs (fmnist-classifier, 64 images of 28×28 in)
// and large outputs (fmnist-ae-decoder, 256 latents in, 256 images out). One connection, closed loop,
// sequential requests: the cost per request of encoding, sending and parsing, not of queueing. Every
// binary answer is checked bit for bit against the JSON answer to the same request.
//   npm run bench:oip-binary [-- --seconds 5]
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Random } from '../src/lib/random.js';
import { startMeanserve, stopAllServers } from './server-process.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const HEADER = 'inference-header-content-length';

interface Case {
  label: string;
  model: string;
  input: { name: string; shape: number[] };
  output: string;
}

const CASES: Case[] = [
  {
    label: 'large inputs: fmnist-classifier, 64 images',
    model: 'fmnist-classifier',
    input: { name: 'image', shape: [64, 1, 28, 28] },
    output: 'logits',
  },
  {
    label: 'large outputs: fmnist-ae-decoder, 256 latents',
    model: 'fmnist-ae-decoder',
    input: { name: 'latent', shape: [256, 64] },
    output: 'image',
  },
];

interface Encoded {
  body: Buffer;
  headers: Record<string, string>;
}

function jsonRequest(input: Case['input'], values: Float32Array, output: string): Encoded {
  const body = {
    inputs: [{ ...input, datatype: 'FP32', data: Array.from(values) }],
    outputs: [{ name: output }],
  };
  return { body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' } };
}

function binaryRequest(input: Case['input'], values: Float32Array, output: string): Encoded {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ ...input, datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }],
      outputs: [{ name: output, parameters: { binary_data: true } }],
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]),
    headers: { 'content-type': 'application/octet-stream', [HEADER]: String(header.length) },
  };
}

/** The output's float32 bytes, whichever way the answer came. */
async function outputBytes(response: Response): Promise<{ bytes: Buffer; size: number }> {
  const raw = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, raw.subarray(0, 300).toString());
  const jsonLength = response.headers.get(HEADER);
  if (jsonLength === null) {
    const [output] = JSON.parse(raw.toString()).outputs as Array<{ data: number[] }>;
    assert.ok(output);
    return { bytes: Buffer.from(Float32Array.from(output.data).buffer), size: raw.length };
  }
  return { bytes: raw.subarray(Number(jsonLength)), size: raw.length };
}

async function measure(url: string, encoded: Encoded, expected: Buffer | undefined) {
  const latencies: number[] = [];
  let responseSize = 0;
  let bytes: Buffer = Buffer.alloc(0);
  const body = new Uint8Array(encoded.body);
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || latencies.length < 3) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', body, headers: encoded.headers });
    ({ bytes, size: responseSize } = await outputBytes(response));
    latencies.push(performance.now() - started);
    if (expected !== undefined) assert.ok(bytes.equals(expected), 'binary and JSON outputs differ');
  }
  latencies.sort((a, b) => a - b);
  const total = latencies.reduce((sum, ms) => sum + ms, 0);
  return {
    perSecond: (latencies.length * 1000) / total,
    p50: latencies[Math.floor(latencies.length / 2)] as number,
    requestSize: encoded.body.length,
    responseSize,
    bytes,
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const { base, dataDir } = await startMeanserve();
  try {
    console.log(`${seconds} s per row, one connection, sequential requests\n`);
    console.log('| traffic | encoding | req/s | p50 ms | request | response | × JSON |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const { label, model, input, output } of CASES) {
      const random = new Random(7);
      const count = input.shape.reduce((product, dim) => product * dim, 1);
      const values = Float32Array.from({ length: count }, () => random.nextUniform());
      const url = `${base}/v2/models/${model}/infer`;
      const json = await measure(url, jsonRequest(input, values, output), undefined);
      const binary = await measure(url, binaryRequest(input, values, output), json.bytes);
      for (const [encoding, result] of [
        ['JSON', json],
        ['binary', binary],
      ] as const) {
        console.log(
          `| ${label} | ${encoding} | ${result.perSecond.toFixed(0)} | ${result.p50.toFixed(2)} | ${kib(result.requestSize)} | ${kib(result.responseSize)} | ${(result.perSecond / json.perSecond).toFixed(2)} |`,
        );
      }
    }
    console.log('\nbinary outputs: bit-identical to the JSON path in every request');
  } finally {
    await stopAllServers();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
