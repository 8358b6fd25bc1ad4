// Messages through a process's data pipe (src/lib/message-pipe.ts): typed arrays of every kind a tensor or a
// model file is go as bytes and come back as they were, wherever they sit in the message and whatever its
// keys are called (a tensor's name is a client's or an uploaded graph's: '__proto__', 'views'); frames split
// into any chunks, or sharing one, arrive whole and in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readMessages, writeMessage } from '../src/lib/message-pipe.js';

/** The frames `messages` are written as, joined. */
function framesOf(...messages: unknown[]): Buffer {
  const frames: Buffer[] = [];
  for (const message of messages) writeMessage({ write: (frame: Buffer) => frames.push(frame) }, message);
  return Buffer.concat(frames);
}

/** What a reader makes of `bytes` arriving in chunks of `size`. */
function read(bytes: Buffer, size: number): unknown[] {
  const received: unknown[] = [];
  let deliver: (chunk: Buffer) => void = () => undefined;
  readMessages({ on: (_event, listener) => (deliver = listener) }, (message) => received.push(message));
  for (let at = 0; at < bytes.length; at += size) deliver(bytes.subarray(at, at + size));
  return received;
}

describe('message pipe', () => {
  it('carries typed arrays of each kind, nested anywhere, under any key', () => {
    const message = {
      kind: 'run',
      id: 7,
      inputs: {
        ['__proto__']: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.3, -0.7]) },
        views: { datatype: 'INT64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
        $view: { datatype: 'FP64', shape: [1], data: new Float64Array([Math.PI]) },
      },
      more: [new Int32Array([-1, 2]), new Uint8Array([0, 255]), null, 'text', { nested: [true] }],
      model: Buffer.from('bytes of a model'),
    };
    const [received] = read(framesOf(message), 1 << 16) as [typeof message];
    const inputs = received.inputs as Record<string, { data: unknown }>;
    assert.ok(Object.hasOwn(inputs, '__proto__'), 'an own key, not the prototype');
    assert.deepEqual(
      Object.getOwnPropertyDescriptor(inputs, '__proto__')?.value.data,
      new Float32Array([0.3, -0.7]),
    );
    assert.equal(Object.getPrototypeOf(inputs), Object.prototype);
    assert.deepEqual(inputs.views?.data, new BigInt64Array([-(2n ** 62n), 5n]));
    assert.deepEqual(inputs.$view?.data, new Float64Array([Math.PI]));
    assert.deepEqual(received.more, message.more);
    assert.deepEqual(received.model, new Uint8Array(Buffer.from('bytes of a model')));
    assert.equal(received.id, 7);
  });

  it('delivers frames split into any chunks, or sharing one, whole and in order', () => {
    const small = framesOf({ first: new Uint8Array([1]) }, { second: 'x' });
    for (const size of [1, 3, 5, small.length]) {
      assert.deepEqual(read(small, size), [{ first: new Uint8Array([1]) }, { second: 'x' }]);
    }
    const big = new Float64Array(1 << 20).map((_, index) => index / 3);
    const bytes = framesOf({ first: new Uint8Array([1]) }, { big }, { last: 'x' });
    for (const size of [4097, 1 << 16, bytes.length]) {
      const received = read(bytes, size) as Array<Record<string, unknown>>;
      assert.equal(received.length, 3, `chunks of ${size}`);
      assert.deepEqual(received[0], { first: new Uint8Array([1]) });
      assert.deepEqual(received[1]?.big, big);
      assert.deepEqual(received[2], { last: 'x' });
    }
  });

  it('refuses an array it could not give back as it was', () => {
    assert.throws(() => framesOf({ data: new Uint16Array(2) }), /a Uint16Array cannot be sent/);
  });
});
