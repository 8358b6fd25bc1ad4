// Open Inference Protocol tensors ↔ typed arrays. One dtype map, strict value checks: a tensor that
// reaches ONNX Runtime has exactly the element count its shape says and only values its type can hold.
import type { FieldError } from '../errors.js';
import { JsonNumber } from '../lib/exact-json.js';
import { DATATYPES, type Datatype } from '../schemas/manifest.js';

export interface DatatypeMap {
  FP32: Float32Array;
  FP64: Float64Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  UINT8: Uint8Array;
  BOOL: Uint8Array;
}
export type TensorData = DatatypeMap[Datatype];

/** A dense row-major tensor as it crosses to and from the inference threads. */
export interface Tensor {
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** ONNX Runtime's name for each datatype (the `type` of an ort.Tensor). */
export const ORT_TYPE: Record<Datatype, string> = {
  FP32: 'float32',
  FP64: 'float64',
  INT32: 'int32',
  INT64: 'int64',
  UINT8: 'uint8',
  BOOL: 'bool',
};

export const DATATYPE_OF_ORT_TYPE: Record<string, Datatype> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([datatype, ortType]) => [ortType, datatype as Datatype]),
);

/** Element cap for one tensor: 64 Mi elements, far above any model here, far below memory trouble. */
export const MAX_ELEMENTS = 64 * 1024 * 1024;

export function isDatatype(value: string): value is Datatype {
  return (DATATYPES as readonly string[]).includes(value);
}

export function allocate(datatype: Datatype, length: number): TensorData {
  switch (datatype) {
    case 'FP32':
      return new Float32Array(length);
    case 'FP64':
      return new Float64Array(length);
    case 'INT32':
      return new Int32Array(length);
    case 'INT64':
      return new BigInt64Array(length);
    case 'UINT8':
    case 'BOOL':
      return new Uint8Array(length);
  }
}

export class TensorError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
  toFieldError(): FieldError {
    return { path: this.path, message: this.message };
  }
}

/** Product of a shape with an overflow guard (a shape like [16, 2^60] must be a 400, not an allocation). */
export function elementCount(shape: readonly number[], path: string): number {
  let count = 1;
  for (const [axis, dim] of shape.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new TensorError(`${path}/${axis}`, `dimension must be a non-negative integer, got ${dim}`);
    }
    count *= dim;
    if (count > MAX_ELEMENTS) {
      throw new TensorError(path, `shape [${shape.join(', ')}] has more than ${MAX_ELEMENTS} elements`);
    }
  }
  return count;
}

/**
 * Flattens OIP `data` (flat row-major, or nested to the depth of the shape) into `out`, checking each value.
 * Nested data must match the shape at every level; flat data must have exactly `count` elements.
 */
export function decodeData(
  datatype: Datatype,
  shape: readonly number[],
  data: unknown,
  path: string,
): TensorData {
  const count = elementCount(shape, path.replace(/\/data$/, '/shape'));
  if (!Array.isArray(data)) throw new TensorError(path, 'data must be an array');
  const out = allocate(datatype, count);
  const write = writer(datatype, out);
  const nested = shape.length > 1 && data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    if (data.length !== count) {
      throw new TensorError(
        path,
        `shape [${shape.join(', ')}] needs ${count} elements, data has ${data.length} at the top level`,
      );
    }
    data.forEach((value, index) => {
      write(index, value, `${path}/${index}`);
    });
    return out;
  }
  let offset = 0;
  const walk = (node: unknown, depth: number, at: string): void => {
    const expected = shape[depth] as number;
    if (!Array.isArray(node)) throw new TensorError(at, `expected an array of ${expected} at depth ${depth}`);
    if (node.length !== expected) {
      throw new TensorError(at, `expected ${expected} elements at depth ${depth}, got ${node.length}`);
    }
    if (depth === shape.length - 1) {
      node.forEach((value, index) => {
        write(offset++, value, `${at}/${index}`);
      });
      return;
    }
    node.forEach((child, index) => {
      walk(child, depth + 1, `${at}/${index}`);
    });
  };
  walk(data, 0, path);
  return out;
}

function writer(datatype: Datatype, out: TensorData) {
  const fail = (at: string, what: string, value: unknown): never => {
    throw new TensorError(
      at,
      `${datatype} element must be ${what}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  };
  switch (datatype) {
    case 'FP32':
    case 'FP64':
      return (index: number, value: unknown, at: string) => {
        // JSON has no NaN literal, but 1e309 parses to Infinity: non-finite input is refused.
        if (typeof value !== 'number' || !Number.isFinite(value)) fail(at, 'a finite number', value);
        if (datatype === 'FP32' && Math.abs(value as number) > 3.4028234663852886e38) {
          fail(at, 'within the FP32 range', value);
        }
        (out as Float32Array | Float64Array)[index] = value as number;
      };
    case 'INT32':
      return (index: number, value: unknown, at: string) => {
        if (!Number.isInteger(value) || (value as number) < -(2 ** 31) || (value as number) >= 2 ** 31) {
          fail(at, 'an integer in [-2^31, 2^31)', value);
        }
        (out as Int32Array)[index] = value as number;
      };
    case 'INT64':
      return (index: number, value: unknown, at: string) => {
        // Beyond 2^53 a JSON number has already lost digits; refuse rather than compute on a rounded value.
        if (!Number.isSafeInteger(value)) fail(at, 'an integer within ±(2^53−1)', value);
        (out as BigInt64Array)[index] = BigInt(value as number);
      };
    case 'UINT8':
      return (index: number, value: unknown, at: string) => {
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
          fail(at, 'an integer in [0, 255]', value);
        }
        (out as Uint8Array)[index] = value as number;
      };
    case 'BOOL':
      return (index: number, value: unknown, at: string) => {
        if (typeof value !== 'boolean') fail(at, 'true or false', value);
        (out as Uint8Array)[index] = value ? 1 : 0;
      };
  }
}

/** Bytes per element in the binary tensor data extension: each type's native size, BOOL one byte. */
const ELEMENT_BYTES: Record<Datatype, number> = { FP32: 4, FP64: 8, INT32: 4, INT64: 8, UINT8: 1, BOOL: 1 };

/**
 * Raw little-endian row-major bytes (Triton's binary tensor data) → a typed array, with the same value
 * checks as the JSON path: finite floats, BOOL bytes 0 or 1. The typed array views the host's byte order;
 * every platform onnxruntime-node ships for (x64, arm64) is little-endian. `path` names the input.
 */
export function decodeBinaryData(
  datatype: Datatype,
  shape: readonly number[],
  bytes: Uint8Array,
  path: string,
): TensorData {
  const count = elementCount(shape, `${path}/shape`);
  const expected = count * ELEMENT_BYTES[datatype];
  if (bytes.length !== expected) {
    throw new TensorError(
      `${path}/parameters/binary_data_size`,
      `shape [${shape.join(', ')}] of ${datatype} needs ${expected} bytes, got ${bytes.length}`,
    );
  }
  const out = allocate(datatype, count);
  // A copy, not a view: the body buffer's offset need not be aligned to the element size.
  new Uint8Array(out.buffer).set(bytes);
  const bad = firstInvalid(datatype, out);
  if (bad >= 0) {
    const what = datatype === 'BOOL' ? 'a byte 0 or 1' : 'a finite number';
    throw new TensorError(`${path}/parameters/binary_data_size`, `element ${bad} is not ${what}`);
  }
  return out;
}

function firstInvalid(datatype: Datatype, data: TensorData): number {
  if (datatype === 'FP32' || datatype === 'FP64') {
    return (data as Float32Array | Float64Array).findIndex((value) => !Number.isFinite(value));
  }
  if (datatype === 'BOOL') return (data as Uint8Array).findIndex((value) => value > 1);
  return -1;
}

/** A tensor's bytes as the binary tensor data extension sends them (a view, no copy). */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Typed array → plain JSON array (row-major, flat), as OIP responses carry it. A plain loop: several times
 * faster than Array.from on the 200 000-element outputs of an image batch. What a JSON number from
 * JSON.stringify would lose — an INT64 past ±(2^53 − 1), a NaN or ±Infinity — becomes a JsonNumber, for
 * exactJson (lib/exact-json.ts) to write as it is.
 */
export function encodeData(tensor: Tensor): Array<number | boolean | JsonNumber> {
  const { datatype, data } = tensor;
  const out = new Array<number | boolean | JsonNumber>(data.length);
  if (datatype === 'BOOL') {
    for (let index = 0; index < data.length; index++) out[index] = data[index] !== 0;
  } else if (datatype === 'INT64') {
    const values = data as BigInt64Array;
    for (let index = 0; index < values.length; index++) {
      const value = values[index] as bigint;
      out[index] = value > MAX_SAFE || value < -MAX_SAFE ? new JsonNumber(String(value)) : Number(value);
    }
  } else {
    const values = data as Exclude<TensorData, BigInt64Array>;
    for (let index = 0; index < values.length; index++) {
      const value = values[index] as number;
      out[index] = Number.isFinite(value) ? value : new JsonNumber(String(value));
    }
  }
  return out;
}
