// Finds the tensors of an ONNX model that keep their bytes in another file (TensorProto.data_location =
// EXTERNAL, the file named by its external_data "location"). onnxruntime resolves that name against the
// process's working directory when a model is loaded from bytes, as every model here is, and feeds the
// file's bytes to the graph: one Identity node would return the server's own files to any client. Models
// are served as single self-contained files, so any such tensor refuses the model.
//
// A protobuf reader of just the fields that can hold a tensor, anywhere in the model (onnx/onnx.proto3):
// initializers and sparse initializers of the graph and of every subgraph (If, Loop, Scan attributes),
// Constant-like attribute values, model-local functions and training-info graphs.

export interface ExternalTensor {
  /** The tensor's name (empty when it has none, as attribute values may). */
  name: string;
  /** The file its bytes are said to be in. */
  location: string;
}

/** Bytes that are not an ONNX model's protobuf encoding (onnxruntime would not open them either). */
export class OnnxReadError extends Error {
  constructor(reason: string) {
    super(`not an ONNX model: ${reason}`);
  }
}

type Message = 'model' | 'graph' | 'node' | 'attribute' | 'function' | 'trainingInfo' | 'sparseTensor';

/** For each message, the fields that hold a message which can lead to a tensor, and which message. */
const CHILDREN: Record<Message, Record<number, Message | 'tensor'>> = {
  // ModelProto: graph, training_info, functions.
  model: { 7: 'graph', 20: 'trainingInfo', 25: 'function' },
  // GraphProto: node, initializer, sparse_initializer.
  graph: { 1: 'node', 5: 'tensor', 15: 'sparseTensor' },
  // NodeProto: attribute.
  node: { 5: 'attribute' },
  // AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors.
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparseTensor', 23: 'sparseTensor' },
  // FunctionProto: node.
  function: { 7: 'node' },
  // TrainingInfoProto: initialization, algorithm.
  trainingInfo: { 1: 'graph', 2: 'graph' },
  // SparseTensorProto: values, indices.
  sparseTensor: { 1: 'tensor', 2: 'tensor' },
};

// TensorProto's fields read here, and the value of data_location that means "in another file".
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const EXTERNAL = 1;
// StringStringEntryProto: key, value.
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** protobuf's own limit on nested messages: deeper than this onnxruntime refuses the model too. */
const MAX_DEPTH = 100;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder('utf-8');

interface Field {
  number: number;
  wire: number;
  /** The varint's value (WIRE_VARINT) or the bytes (WIRE_LENGTH). */
  value: number;
  bytes: Uint8Array;
}

/** The fields of one encoded message, in order. Throws OnnxReadError where the bytes are not protobuf. */
function* fields(bytes: Uint8Array): Generator<Field> {
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (offset >= bytes.length) throw new OnnxReadError('the file ends inside a number');
      const byte = bytes[offset++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new OnnxReadError('a number is longer than ten bytes');
  };
  const skip = (count: number) => {
    if (count > bytes.length - offset) throw new OnnxReadError('a field runs past the end of its message');
    offset += count;
  };
  while (offset < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE_VARINT) yield { number, wire, value: varint(), bytes: bytes.subarray(0, 0) };
    else if (wire === WIRE_LENGTH) {
      const length = varint();
      const start = offset;
      skip(length);
      yield { number, wire, value: length, bytes: bytes.subarray(start, offset) };
    } else if (wire === WIRE_FIXED64) skip(8);
    else if (wire === WIRE_FIXED32) skip(4);
    else throw new OnnxReadError(`field ${number} has wire type ${wire}, which ONNX does not use`);
  }
}

function readTensor(bytes: Uint8Array): ExternalTensor | undefined {
  let name = '';
  let external = false;
  let location: string | undefined;
  for (const field of fields(bytes)) {
    if (field.number === TENSOR_NAME && field.wire === WIRE_LENGTH) name = utf8.decode(field.bytes);
    else if (field.number === TENSOR_DATA_LOCATION && field.wire === WIRE_VARINT) {
      external = field.value === EXTERNAL;
    } else if (field.number === TENSOR_EXTERNAL_DATA && field.wire === WIRE_LENGTH) {
      let key = '';
      let value = '';
      for (const entry of fields(field.bytes)) {
        if (entry.wire !== WIRE_LENGTH) continue;
        if (entry.number === ENTRY_KEY) key = utf8.decode(entry.bytes);
        else if (entry.number === ENTRY_VALUE) value = utf8.decode(entry.bytes);
      }
      if (key === 'location') location = value;
    }
  }
  // Either one is enough: onnxruntime goes by data_location, other readers by external_data.
  return external || location !== undefined ? { name, location: location ?? '' } : undefined;
}

function walk(bytes: Uint8Array, message: Message, depth: number, found: ExternalTensor[]): void {
  if (depth > MAX_DEPTH) throw new OnnxReadError(`messages are nested more than ${MAX_DEPTH} deep`);
  const children = CHILDREN[message];
  for (const field of fields(bytes)) {
    const child = children[field.number];
    if (child === undefined || field.wire !== WIRE_LENGTH) continue;
    if (child === 'tensor') {
      const tensor = readTensor(field.bytes);
      if (tensor !== undefined) found.push(tensor);
    } else walk(field.bytes, child, depth + 1, found);
  }
}

/** Every tensor of the model whose bytes are said to be in another file; empty for a self-contained model. */
export function externalTensors(model: Uint8Array): ExternalTensor[] {
  const found: ExternalTensor[] = [];
  walk(model, 'model', 0, found);
  return found;
}
