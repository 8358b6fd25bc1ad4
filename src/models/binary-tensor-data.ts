// Triton's binary tensor data extension (triton-inference-server/server, docs/protocol/
// extension_binary_data.md), which tritonclient uses by default: a body is the JSON inference header, whose
// length the Inference-Header-Content-Length header gives, then each binary tensor's little-endian bytes in
// the order the JSON lists them. Inputs mark theirs with `parameters.binary_data_size`; outputs are asked
// for with `parameters.binary_data_output` (all) or an output's `parameters.binary_data` (that one).
import { type FieldError, InvalidInputError, throwFieldErrors } from '../errors.js';
import { exactJson } from '../lib/exact-json.js';
import type { InferRequestBody, InferResponseBody } from './infer-request.js';
import { type Tensor, tensorBytes } from './tensor.js';

/** The request and response header giving the JSON part's length in bytes (lower case, as Node reads it). */
export const HEADER_LENGTH = 'inference-header-content-length';

/** The JSON header's length from the request header, checked against the body's length. */
export function jsonHeaderLength(value: string | string[] | undefined, bodyLength: number): number {
  const text = Array.isArray(value) ? value[0] : value;
  const length = text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(length > 0 && length <= bodyLength)) {
    const message = `must be the byte length of the JSON header, 1 … ${bodyLength}, got ${JSON.stringify(text)}`;
    throw new InvalidInputError(`Inference-Header-Content-Length ${message}`, [
      { path: `/headers/${HEADER_LENGTH}`, message },
    ]);
  }
  return length;
}

/**
 * Cuts the bytes after the JSON header into one slice per input that declares `binary_data_size`, keyed by
 * the input's index. Every byte must belong to exactly one input, and an input has JSON `data` or binary
 * bytes, not both.
 */
export function sliceBinaryInputs(
  body: InferRequestBody,
  bytes: Uint8Array,
  path = '/body',
): Map<number, Uint8Array> {
  const errors: FieldError[] = [];
  const slices = new Map<number, Uint8Array>();
  let offset = 0;
  body.inputs.forEach((input, index) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return;
    const at = `${path}/inputs/${index}`;
    if (!Number.isSafeInteger(size) || (size as number) < 0) {
      errors.push({ path: `${at}/parameters/binary_data_size`, message: 'must be a byte count ≥ 0' });
      return;
    }
    if (input.data !== undefined) {
      errors.push({ path: `${at}/data`, message: 'an input with binary_data_size carries no JSON data' });
      return;
    }
    const end = offset + (size as number);
    if (end > bytes.length) {
      errors.push({
        path: `${at}/parameters/binary_data_size`,
        message: `${size} bytes from byte ${offset} of the binary data run past its end (${bytes.length} bytes)`,
      });
      return;
    }
    slices.set(index, bytes.subarray(offset, end));
    offset = end;
  });
  if (errors.length === 0 && offset !== bytes.length) {
    errors.push({
      path: `${path}/inputs`,
      message: `the inputs' binary_data_size add up to ${offset} bytes, the body has ${bytes.length} after the JSON header`,
    });
  }
  throwFieldErrors(errors);
  return slices;
}

/** The outputs to send as binary: `binary_data` where an output says, else the request's `binary_data_output`. */
export function binaryOutputNames(body: InferRequestBody, order: string[], path = '/body'): Set<string> {
  const errors: FieldError[] = [];
  const flag = (value: unknown, at: string): boolean => {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') errors.push({ path: at, message: 'must be true or false' });
    return value === true;
  };
  const all = flag(body.parameters?.binary_data_output, `${path}/parameters/binary_data_output`);
  const chosen = new Set<string>(all ? order : []);
  body.outputs?.forEach((output, index) => {
    const value = output.parameters?.binary_data;
    if (value === undefined) return;
    if (flag(value, `${path}/outputs/${index}/parameters/binary_data`)) chosen.add(output.name);
    else chosen.delete(output.name);
  });
  throwFieldErrors(errors);
  return chosen;
}

/**
 * The body of a response whose chosen outputs are binary (encodeInferResponse gave them
 * `parameters.binary_data_size` and no `data`): the JSON, then their bytes in output order.
 */
export function encodeBinaryResponse(
  response: InferResponseBody,
  outputs: Record<string, Tensor>,
  binary: Set<string>,
): { jsonLength: number; body: Buffer } {
  const json = Buffer.from(exactJson(response));
  const chunks = response.outputs
    .filter((output) => binary.has(output.name))
    .map((output) => tensorBytes(outputs[output.name] as Tensor));
  return { jsonLength: json.length, body: Buffer.concat([json, ...chunks]) };
}
