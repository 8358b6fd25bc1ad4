// Messages between a process and its child over a pipe of their own: the message as JSON with each typed
// array taken out, then the arrays' bytes. A frame is
//   length of the rest (uint32 LE) · header length (uint32 LE) · header JSON · each array's bytes
// with the header and each array padded to 8 bytes, and the header is { message, views: [{ path, type,
// bytes }] }: where each array goes back, by path, so no key or value a message may hold (a tensor's name
// is a client's or an uploaded graph's) can be mistaken for one. A reader fills one buffer per frame as
// its chunks arrive and hands out the arrays as views of it, aligned, not copies: a 1 GB output costs
// the reader 1 GB, not three (chunks, joined, copied out). The arrays of one message share its buffer, so
// one is copied before it is transferred anywhere. Node's own IPC with advanced serialization took
// ~83 µs a round trip of a 1-row inference message on this VM, this ~54 (a worker thread's postMessage
// ~38): on an uploaded model's small request most of what its process costs over a thread
// (docs/benchmarks.md).

type ViewType =
  | 'Uint8Array'
  | 'Int32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

const VIEWS: Record<
  ViewType,
  {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
    BYTES_PER_ELEMENT: number;
  }
> = {
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
/** Every array starts at a multiple of this in a frame's body: the widest element's size. */
const ALIGNMENT = 8;

const aligned = (offset: number) => Math.ceil(offset / ALIGNMENT) * ALIGNMENT;

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
  // Offsets within the body, the part after the frame's length.
  const offsets: number[] = [];
  let end = aligned(LENGTH_BYTES + header.length);
  for (const { view } of views) {
    offsets.push(end);
    end = aligned(end + view.byteLength);
  }
  // Its padding is never read.
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + end);
  frame.writeUInt32LE(end, 0);
  frame.writeUInt32LE(header.length, LENGTH_BYTES);
  header.copy(frame, 2 * LENGTH_BYTES);
  views.forEach(({ view }, index) => {
    frame.set(
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      LENGTH_BYTES + (offsets[index] as number),
    );
  });
  socket.write(frame);
}

function decodeBody(body: Buffer): unknown {
  const headerLength = body.readUInt32LE(0);
  const { message, views } = JSON.parse(body.toString('utf8', LENGTH_BYTES, LENGTH_BYTES + headerLength)) as {
    message: unknown;
    views: ViewPlace[];
  };
  let offset = aligned(LENGTH_BYTES + headerLength);
  for (const { path, type, bytes } of views) {
    const View = VIEWS[type];
    let start = body.byteOffset + offset;
    let buffer = body.buffer;
    if (start % View.BYTES_PER_ELEMENT !== 0) {
      // Only if the body itself was not allocated aligned: a copy of its own then.
      buffer = Uint8Array.from(body.subarray(offset, offset + bytes)).buffer;
      start = 0;
    }
    offset = aligned(offset + bytes);
    const holder = path
      .slice(0, -1)
      .reduce((node: unknown, key) => (node as Record<string, unknown>)[key], message);
    Object.defineProperty(holder, path.at(-1) as string | number, {
      value: new View(buffer, start, bytes / View.BYTES_PER_ELEMENT),
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
  const length = Buffer.alloc(LENGTH_BYTES);
  let lengthRead = 0;
  /** The body of the frame being read, once its length has arrived, and how much of it has. */
  let body: Buffer | undefined;
  let bodyRead = 0;
  socket.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (body === undefined) {
        const taken = chunk.copy(length, lengthRead, at, at + LENGTH_BYTES - lengthRead);
        lengthRead += taken;
        at += taken;
        if (lengthRead < LENGTH_BYTES) return;
        lengthRead = 0;
        body = Buffer.allocUnsafe(length.readUInt32LE(0));
        bodyRead = 0;
      }
      const taken = chunk.copy(body, bodyRead, at);
      bodyRead += taken;
      at += taken;
      if (bodyRead < body.length) return;
      const whole = body;
      body = undefined;
      onMessage(decodeBody(whole));
    }
  });
}
