// Open Inference Protocol conformance as KServe and Triton clients see it: bodies checked against KServe's
// REST schemas, both /v2 forms, Triton's platform name, and Triton's binary tensor data extension for every
// datatype we serve (the tensor-types fixture), bit-identical to the JSON path, including a request built
// byte by byte as extension_binary_data.md lays it out and sent over a socket the way tritonclient does.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertLive, listen, modelsWithTensorTypes, startApp, stopApp } from './helpers/app.js';
import { assertKserve } from './helpers/kserve-schemas.js';

const URL_INFER = '/v2/models/tensor-types/infer';
const HEADER = 'inference-header-content-length';

type Values = Array<number | boolean>;

/** Two rows of three per datatype, with each type's edge values (JSON cannot carry -0, so none here). */
const INPUTS: Record<string, Values> = {
  FP32: [1.5, -2, 3.4028234663852886e38, 1.401298464324817e-45, 0.1, -1e-20],
  FP64: [0.1, -2.5, 1.7976931348623157e308, 5e-324, 123456789.123, -1],
  INT32: [-(2 ** 31), 2 ** 31 - 1, 0, -5, 7, 100],
  INT64: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, 1, -1, 42],
  UINT8: [0, 1, 127, 128, 254, 255],
  BOOL: [true, false, true, true, false, false],
};
const DATATYPES = Object.keys(INPUTS);

/** What the fixture computes: negation (INT32 wraps at −2^31), 255 − x, logical not. */
function expected(datatype: string, values: Values): Values {
  if (datatype === 'BOOL') return values.map((value) => !value);
  if (datatype === 'UINT8') return values.map((value) => 255 - (value as number));
  if (datatype === 'INT32') return values.map((value) => -(value as number) | 0);
  if (datatype === 'FP32') return Array.from(Float32Array.from(values as number[], (value) => -value));
  return values.map((value) => -(value as number) + 0);
}

/** Little-endian bytes of JSON values, as the extension sends them (Node's typed arrays are LE here). */
function bytesOf(datatype: string, values: Values): Buffer {
  const numbers = values as number[];
  const typed = {
    FP32: () => Float32Array.from(numbers),
    FP64: () => Float64Array.from(numbers),
    INT32: () => Int32Array.from(numbers),
    INT64: () => BigInt64Array.from(numbers, (value) => BigInt(value)),
    UINT8: () => Uint8Array.from(numbers),
    BOOL: () => Uint8Array.from(values, (value) => (value ? 1 : 0)),
  }[datatype];
  assert.ok(typed, datatype);
  const array = typed();
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

const inputName = (datatype: string) => `${datatype.toLowerCase()}_in`;
const outputName = (datatype: string) => `${datatype.toLowerCase()}_out`;

/** A request body: JSON, or the JSON header and binary tensors for the datatypes in `binary`. */
function inferBody(binary: string[], parameters?: Record<string, unknown>, outputs?: unknown[]) {
  const tails: Buffer[] = [];
  const header = {
    id: 'conformance',
    ...(parameters === undefined ? {} : { parameters }),
    inputs: DATATYPES.map((datatype) => {
      const values = INPUTS[datatype] as Values;
      const head = { name: inputName(datatype), shape: [2, 3], datatype };
      if (!binary.includes(datatype)) return { ...head, data: values };
      const bytes = bytesOf(datatype, values);
      tails.push(bytes);
      return { ...head, parameters: { binary_data_size: bytes.length } };
    }),
    ...(outputs === undefined ? {} : { outputs }),
  };
  const json = Buffer.from(JSON.stringify(header));
  return { json, body: Buffer.concat([json, ...tails]) };
}

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: Values;
  parameters?: { binary_data_size: number };
}

/** Splits a binary response into its JSON header and each binary output's bytes. */
function readBinaryResponse(raw: Buffer, jsonLength: number) {
  const header = JSON.parse(raw.subarray(0, jsonLength).toString()) as { outputs: Output[] };
  const bytes = new Map<string, Buffer>();
  let offset = jsonLength;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    bytes.set(output.name, raw.subarray(offset, offset + size));
    offset += size;
  }
  assert.equal(offset, raw.length, 'every byte of the body belongs to an output');
  return { header, bytes };
}

describe('Open Inference Protocol conformance (KServe schemas, Triton binary tensor data)', () => {
  let app: FastifyInstance;
  let modelsDir: string;
  before(async () => {
    modelsDir = await modelsWithTensorTypes();
    app = await startApp({ MODELS_DIR: modelsDir });
  });
  after(async () => {
    await stopApp(app);
    await rm(modelsDir, { recursive: true, force: true });
  });

  const post = (body: Buffer, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: URL_INFER, payload: body, headers });
  const postBinary = (built: { json: Buffer; body: Buffer }, contentType = 'application/octet-stream') =>
    post(built.body, { 'content-type': contentType, [HEADER]: String(built.json.length) });

  it('answers server and model metadata as KServe describes them, at /v2 and /v2/', async () => {
    const server = (await app.inject('/v2')).json();
    assertKserve('serverMetadata', server);
    assert.deepEqual((await app.inject('/v2/')).json(), server);
    assert.ok(server.extensions.includes('binary_tensor_data'));
    for (const url of ['/v2/models/tensor-types', '/v2/models/spiral-mlp/versions/1']) {
      const metadata = (await app.inject(url)).json();
      assertKserve('modelMetadata', metadata);
      assert.equal(metadata.platform, 'onnxruntime_onnx');
    }
    const types = (await app.inject('/v2/models/tensor-types')).json();
    assert.deepEqual(
      types.inputs.map((input: { datatype: string }) => input.datatype),
      DATATYPES,
    );
  });

  it('answers errors in KServe shape: {error: string} as application/json', async () => {
    const responses = [
      await app.inject('/v2/models/nope'),
      await app.inject('/v2/models/spiral-mlp/versions/9/ready'),
      await app.inject({ method: 'POST', url: URL_INFER, payload: { inputs: [] } }),
    ];
    for (const response of responses) {
      assert.ok(response.statusCode >= 400, response.body);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assertKserve('errorResponse', response.json());
    }
  });

  it('computes every datatype on the JSON path, in a KServe inference response', async () => {
    const response = await post(inferBody([]).body, { 'content-type': 'application/json' });
    assert.equal(response.statusCode, 200, response.body);
    assertKserve('inferenceResponse', response.json());
    for (const output of response.json().outputs as Output[]) {
      assert.deepEqual(output.shape, [2, 3]);
      assert.deepEqual(
        output.data,
        expected(output.datatype, INPUTS[output.datatype] as Values),
        output.name,
      );
    }
  });

  it('gives bit-identical outputs for binary inputs and outputs, for every datatype', async () => {
    const viaJson = (await post(inferBody([]).body, { 'content-type': 'application/json' })).json();
    const response = await postBinary(inferBody(DATATYPES, { binary_data_output: true }));
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'application/octet-stream');
    const { header, bytes } = readBinaryResponse(response.rawPayload, Number(response.headers[HEADER]));
    for (const datatype of DATATYPES) {
      const jsonOutput = (viaJson.outputs as Output[]).find((output) => output.datatype === datatype);
      const binaryOutput = header.outputs.find((output) => output.datatype === datatype);
      assert.ok(jsonOutput && binaryOutput, datatype);
      assert.equal(binaryOutput.data, undefined, 'a binary output carries no JSON data');
      assert.deepEqual(binaryOutput.shape, jsonOutput.shape);
      assert.deepEqual(
        bytes.get(outputName(datatype)),
        bytesOf(datatype, jsonOutput.data as Values),
        datatype,
      );
    }
  });

  it('answers binary inputs with the JSON outputs of the JSON path, exactly', async () => {
    const viaJson = (await post(inferBody([]).body, { 'content-type': 'application/json' })).json();
    for (const contentType of ['application/octet-stream', 'application/json']) {
      const response = await postBinary(inferBody(DATATYPES), contentType);
      assert.equal(response.statusCode, 200, response.body);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assert.equal(response.headers[HEADER], undefined);
      assert.deepEqual(response.json(), viaJson, contentType);
    }
  });

  it('writes INT64 outputs beyond ±(2^53 − 1) with every digit in JSON, as binary has them', async () => {
    // Sent as binary: JSON inputs past 2^53 are refused, since a JSON parser here would round them.
    const values = [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n) + 1n, 12_345n, -(2n ** 53n) - 3n, 0n];
    const int64 = Buffer.from(BigInt64Array.from(values).buffer);
    const built = inferBody([]);
    const header = JSON.parse(built.json.toString());
    header.inputs[DATATYPES.indexOf('INT64')] = {
      name: 'int64_in',
      shape: [2, 3],
      datatype: 'INT64',
      parameters: { binary_data_size: int64.length },
    };
    const json = Buffer.from(JSON.stringify(header));
    for (const binaryOutput of [false, true]) {
      const withOutput = binaryOutput
        ? Buffer.from(
            JSON.stringify({
              ...header,
              outputs: [{ name: 'int64_out', parameters: { binary_data: true } }],
            }),
          )
        : json;
      const response = await postBinary({ json: withOutput, body: Buffer.concat([withOutput, int64]) });
      assert.equal(response.statusCode, 200, response.body);
      const negated = values.map((value) => -value);
      if (binaryOutput) {
        const { bytes } = readBinaryResponse(response.rawPayload, Number(response.headers[HEADER]));
        const raw = bytes.get('int64_out') as Buffer;
        assert.deepEqual([...new BigInt64Array(Uint8Array.from(raw).buffer)], negated);
        continue;
      }
      // JSON.parse would round them again: read the digits as the server wrote them.
      const written = /"name":"int64_out","datatype":"INT64","shape":\[2,3\],"data":\[([^\]]*)\]/.exec(
        response.body,
      );
      assert.deepEqual(written?.[1]?.split(',').map(BigInt), negated, response.body);
      assert.equal(
        response.json().outputs.length,
        DATATYPES.length,
        'the rest of the answer is JSON as before',
      );
    }
  });

  it('lets an output override binary_data_output, and keeps the requested output order', async () => {
    const outputs = [
      { name: 'bool_out' },
      { name: 'fp32_out', parameters: { binary_data: false } },
      { name: 'uint8_out', parameters: { binary_data: true } },
    ];
    const response = await postBinary(inferBody(['INT64'], { binary_data_output: true }, outputs));
    assert.equal(response.statusCode, 200, response.body);
    const { header, bytes } = readBinaryResponse(response.rawPayload, Number(response.headers[HEADER]));
    assert.deepEqual(
      header.outputs.map((output) => output.name),
      ['bool_out', 'fp32_out', 'uint8_out'],
    );
    assert.deepEqual([...bytes.keys()], ['bool_out', 'uint8_out']);
    assert.deepEqual(header.outputs[1]?.data, expected('FP32', INPUTS.FP32 as Values));
    assert.deepEqual(bytes.get('bool_out'), Buffer.from([0, 1, 0, 0, 1, 1]));
  });

  it('serves a request built byte by byte from the extension spec, over a socket with no content type', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'fp32_in', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } },
          { name: 'fp64_in', shape: [1, 3], datatype: 'FP64', parameters: { binary_data_size: 24 } },
          { name: 'int32_in', shape: [1, 3], datatype: 'INT32', parameters: { binary_data_size: 12 } },
          { name: 'int64_in', shape: [1, 3], datatype: 'INT64', parameters: { binary_data_size: 24 } },
          { name: 'uint8_in', shape: [1, 3], datatype: 'UINT8', parameters: { binary_data_size: 3 } },
          { name: 'bool_in', shape: [1, 3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
        ],
        outputs: [{ name: 'fp32_out', parameters: { binary_data: true } }, { name: 'int64_out' }],
      }),
    );
    // prettier-ignore
    const tensors = Buffer.from([
      0x00,
      0x00,
      0x80,
      0x3f,
      0x00,
      0x00,
      0x00,
      0xc0,
      0x00,
      0x00,
      0x00,
      0x3f, // FP32 1, -2, 0.5
      0,
      0,
      0,
      0,
      0,
      0,
      0xf0,
      0x3f,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xf0,
      0xbf, // FP64 1, 0, -1
      0x01,
      0,
      0,
      0,
      0xff,
      0xff,
      0xff,
      0xff,
      0x00,
      0x01,
      0,
      0, // INT32 1, -1, 256
      0x02,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xfe,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0,
      0,
      0,
      0,
      0,
      0,
      0x10,
      0, // INT64 2, -2, 2^52
      0x00,
      0x10,
      0xff, // UINT8 0, 16, 255
      0x01,
      0x00,
      0x01, // BOOL true, false, true
    ]);
    const body = Buffer.concat([header, tensors]);
    const base = new URL(await listen(app));
    const answer = await new Promise<{ status: number; headers: Record<string, unknown>; raw: Buffer }>(
      (resolve, reject) => {
        const request = httpRequest(
          {
            host: base.hostname,
            port: base.port,
            method: 'POST',
            path: URL_INFER,
            headers: { 'content-length': body.length, [HEADER]: header.length },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                raw: Buffer.concat(chunks),
              }),
            );
          },
        );
        request.on('error', reject);
        request.end(body);
      },
    );
    assert.equal(answer.status, 200, answer.raw.toString());
    const { header: reply, bytes } = readBinaryResponse(answer.raw, Number(answer.headers[HEADER]));
    assert.equal(Number(answer.headers['content-length']), answer.raw.length);
    // FP32 -1, 2, -0.5, little-endian, as written by hand.
    assert.deepEqual(
      bytes.get('fp32_out'),
      Buffer.from([0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0xbf]),
    );
    assert.deepEqual(reply.outputs[1]?.data, [-2, 2, -(2 ** 52)]);
  });

  it('refuses broken binary requests with a 400 naming the header or field, and stays up', async () => {
    const good = inferBody(['FP32', 'BOOL']);
    const withInput = (change: (inputs: Array<Record<string, unknown>>) => void, tail: Buffer) => {
      const header = JSON.parse(good.json.toString());
      change(header.inputs);
      const json = Buffer.from(JSON.stringify(header));
      return { json, body: Buffer.concat([json, tail]) };
    };
    const tail = good.body.subarray(good.json.length);
    const nanTail = Buffer.concat([
      Buffer.from(new Float32Array([Number.NaN, 0, 0, 0, 0, 0]).buffer),
      tail.subarray(24),
    ]);
    const cases: Array<[string, Buffer, Record<string, string>, string]> = [
      ['a header that is not a number', good.body, { [HEADER]: 'twelve' }, `/headers/${HEADER}`],
      ['a header past the body', good.body, { [HEADER]: String(good.body.length + 1) }, `/headers/${HEADER}`],
      [
        'bytes left over',
        Buffer.concat([good.body, Buffer.from([0])]),
        { [HEADER]: String(good.json.length) },
        '/body/inputs',
      ],
      ['a JSON header cut short', good.body, { [HEADER]: String(good.json.length - 1) }, ''],
    ];
    const built: Array<[string, { json: Buffer; body: Buffer }, string]> = [
      [
        'data and binary_data_size both',
        withInput((inputs) => {
          (inputs[0] as Record<string, unknown>).data = [1, 2, 3, 4, 5, 6];
        }, tail),
        '/body/inputs/0/data',
      ],
      [
        'a size that does not fit the shape',
        withInput((inputs) => {
          (inputs[0] as Record<string, unknown>).parameters = { binary_data_size: 20 };
          (inputs[5] as Record<string, unknown>).parameters = { binary_data_size: 10 };
        }, tail),
        '/body/inputs/0/parameters/binary_data_size',
      ],
      [
        'a BOOL byte that is not 0 or 1',
        withInput(() => {}, Buffer.concat([tail.subarray(0, 24), Buffer.from([1, 0, 2, 0, 0, 0])])),
        '/body/inputs/5/parameters/binary_data_size',
      ],
      ['a NaN float', withInput(() => {}, nanTail), '/body/inputs/0/parameters/binary_data_size'],
      [
        'binary_data_output not a boolean',
        inferBody([], { binary_data_output: 'yes' }),
        '/body/parameters/binary_data_output',
      ],
    ];
    for (const [what, built_, path] of built) {
      cases.push([what, built_.body, { [HEADER]: String(built_.json.length) }, path]);
    }
    for (const [what, body, headers, path] of cases) {
      const response = await post(body, { 'content-type': 'application/octet-stream', ...headers });
      assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assertKserve('errorResponse', response.json());
      if (path !== '') assert.equal(response.json().errors?.[0]?.path, path, what);
    }
    const declaredWithoutBinary = await app.inject({
      method: 'POST',
      url: URL_INFER,
      payload: JSON.parse(good.json.toString()),
    });
    assert.equal(declaredWithoutBinary.statusCode, 400);
    assert.equal(declaredWithoutBinary.json().errors[0].path, '/body/inputs/0/data');
    // The same in plain JSON with data beside it: refused as on the binary path, not answered from the data.
    const declaredBesideData = await app.inject({
      method: 'POST',
      url: '/v2/models/spiral-mlp/infer',
      payload: {
        inputs: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [1, 2],
            data: [0.1, 0.2],
            parameters: { binary_data_size: 8 },
          },
        ],
      },
    });
    assert.equal(declaredBesideData.statusCode, 400, declaredBesideData.body.slice(0, 200));
    assert.equal(declaredBesideData.json().errors[0].path, '/body/inputs/0/data');
    const noHeader = await post(good.body, { 'content-type': 'application/octet-stream' });
    assert.equal(noHeader.statusCode, 415);
    assertKserve('errorResponse', noHeader.json());
    await assertLive(app);
  });
});
