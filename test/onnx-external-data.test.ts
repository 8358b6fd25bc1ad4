// ONNX external data: a tensor may say its bytes are in another file, which onnxruntime would read from the
// server's working directory. Every placement ONNX allows is found; every model we serve has none; every
// session this server opens (inference and decoder threads, the inline session, job processes, uploads)
// refuses such a graph with the tensor and the file named; and bytes that are not protobuf, cut short or
// nested without end are a clear error, never a crash or a hang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { externalTensors, OnnxReadError } from '../src/lib/onnx-external-data.js';
import { openSession } from '../src/models/session.js';
import { MODELS_DIR } from './helpers/app.js';
import { EXTERNAL_DATA_TENSORS, externalDataFixture } from './helpers/external-data.js';

/** A protobuf length-delimited field: key, length, bytes. */
function field(number: number, bytes: Uint8Array): Uint8Array {
  const varint = (value: number) => {
    const out: number[] = [];
    for (; value >= 0x80; value = Math.floor(value / 128)) out.push((value & 0x7f) | 0x80);
    out.push(value);
    return out;
  };
  return Uint8Array.from([...varint(number * 8 + 2), ...varint(bytes.length), ...bytes]);
}

describe('ONNX external data', () => {
  for (const [fixture, tensor] of Object.entries(EXTERNAL_DATA_TENSORS)) {
    it(`finds the external tensor of ${fixture}.onnx and no session opens it`, async () => {
      const bytes = await readFile(externalDataFixture(fixture));
      assert.deepEqual(externalTensors(bytes), [{ name: tensor, location: 'package.json' }]);
      await assert.rejects(
        openSession(bytes, ['cpu'], 1),
        new RegExp(`tensor '${tensor}' keeps its bytes in another file \\('package\\.json'\\)`),
      );
    });
  }

  it('finds none in any model we serve', async () => {
    const files = execFileSync('find', [MODELS_DIR, '-name', '*.onnx'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.ok(files.length >= 14, files.join());
    for (const file of files) assert.deepEqual(externalTensors(await readFile(file)), [], file);
  });

  it('reads a cut-short model as an error or as what its first part holds, never anything else', async () => {
    const model = await readFile(externalDataFixture('constant-in-subgraph'));
    for (let length = 0; length < model.length; length++) {
      try {
        assert.ok(Array.isArray(externalTensors(model.subarray(0, length))));
      } catch (error) {
        assert.ok(error instanceof OnnxReadError, `${length}: ${error}`);
        assert.match(error.message, /^not an ONNX model: /);
      }
    }
  });

  it('refuses bytes that are not protobuf, and messages nested past protobuf’s limit', () => {
    assert.throws(() => externalTensors(Buffer.from('this is not a model at all')), OnnxReadError);
    assert.throws(() => externalTensors(Uint8Array.from([0x08, 0xff, 0xff])), /ends inside a number/);
    // A graph inside an attribute inside a node inside a graph …, 200 levels deep.
    let nested: Uint8Array = new Uint8Array(0);
    for (let level = 0; level < 200; level++) nested = field(1, field(5, field(6, nested)));
    assert.throws(() => externalTensors(field(7, nested)), /nested more than 100 deep/);
  });
});
