// Messages between a process and its child over a pipe of their own: the message as JSON with each typed
// array taken out, then the arrays' bytes. A frame is
//   length of the rest (uint32 LE) · header length (uint32 LE) · header JSON · the arrays' bytes, in order
// and the header is { message, views: [{ path, type, length }] }: where each array goes back, by path, so no
// key or value a message may hold (a tensor's name is a client's or an uploaded graph's) can be mistaken
// for one. Node's own IPC with advanced serialization took ~83 µs a round trip of a 1-row inference
// message on this VM, this ~54 (a worker thread's postMessage ~38): on an uploaded model's small request
// most of what its process costs over a thread (docs/benchmarks.md).

type ViewType =
  | 'Uint8Array'
  | 'Int32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

const VIEWS: Record<ViewType, { new (buffer: ArrayBuffer): ArrayBufferView }> = {
  Uint8Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

interface ViewPlace {
  path: Array<string | number>;
  type: ViewType;
  bytes: number;
}

const LENGTH_BYTES = 4;

/** `value` with each typed array replaced by null, and the arrays with where they were. */
function takeViews(
  value: unknown,
  path: Array<string | number>,
  views: Array<{ place: ViewPlace; view: ArrayBufferView }>,
): unknown {
  if (ArrayBuffer.isView(value)) {
    // A Buffer goes as the Uint8Array it is.
    const type = (Object.keys(VIEWS) as ViewType[]).find((name) => value instanceof VIEWS[name]);
    if (type === undefined)
      throw new Error(`a ${value.constructor.name} cannot be sent through a message pipe`);
    views.push({ place: { path, type, bytes: value.byteLength }, view: value });
    return null;
  }
  if (Array.isArray(value)) return value.map((item, index) => takeViews(item, [...path, index], views));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(copy, key, {
        value: takeViews(item, [...path, key], views),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

/** Writes `message` as one frame; what cannot be written now is buffered by the socket. */
export function writeMessage(socket: { write(frame: Buffer): unknown }, message: unknown): void {
  const views: Array<{ place: ViewPlace; view: ArrayBufferView }> = [];
  const header = Buffer.from(
    JSON.stringify({ message: takeViews(message, [], views), views: views.map(({ place }) => place) }),
  );
  const bytes = views.reduce((sum, { view }) => sum + view.byteLength, 0);
  const frame = Buffer.allocUnsafe(2 * LENGTH_BYTES + header.length + bytes);
  frame.writeUInt32LE(frame.length - LENGTH_BYTES, 0);
  frame.writeUInt32LE(header.length, LENGTH_BYTES);
  header.copy(frame, 2 * LENGTH_BYTES);
  let offset = 2 * LENGTH_BYTES + header.length;
  for (const { view } of views) {
    frame.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), offset);
    offset += view.byteLength;
  }
  socket.write(frame);
}

function decodeFrame(frame: Buffer): unknown {
  const headerLength = frame.readUInt32LE(0);
  const { message, views } = JSON.parse(
    frame.toString('utf8', LENGTH_BYTES, LENGTH_BYTES + headerLength),
  ) as {
    message: unknown;
    views: ViewPlace[];
  };
  let offset = LENGTH_BYTES + headerLength;
  for (const { path, type, bytes } of views) {
    // A copy of its own: aligned for its element size, and not holding the whole frame alive.
    const copy = new Uint8Array(bytes);
    copy.set(frame.subarray(offset, offset + bytes));
    offset += bytes;
    const holder = path
      .slice(0, -1)
      .reduce((node: unknown, key) => (node as Record<string, unknown>)[key], message);
    Object.defineProperty(holder, path.at(-1) as string | number, {
      value: new VIEWS[type](copy.buffer),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return message;
}

/** Calls `onMessage` with each message that arrives, in order. */
export function readMessages(
  socket: { on(event: 'data', listener: (chunk: Buffer) => void): unknown },
  onMessage: (message: unknown) => void,
): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  /** Where the frame being read ends, once its length has arrived. */
  let frameEnd: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (frameEnd === undefined) {
        if (buffered < LENGTH_BYTES) return;
        frameEnd = LENGTH_BYTES + Buffer.concat(chunks, LENGTH_BYTES).readUInt32LE(0);
      }
      // Joined only once the whole frame is here: a 64 MiB model arrives in thousands of chunks.
      if (buffered < frameEnd) return;
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
      const frame = all.subarray(LENGTH_BYTES, frameEnd);
      const rest = all.subarray(frameEnd);
      chunks = rest.length > 0 ? [rest] : [];
      buffered = rest.length;
      frameEnd = undefined;
      onMessage(decodeFrame(frame));
    }
  });
}
