// Open Inference Protocol request/response bodies ↔ tensors, checked against the model's declared
// inputs: every input present once, datatype and rank equal, fixed dimensions equal, batch within bounds.
import { type FieldError, InvalidInputError, TooLargeError } from '../errors.js';
import type { JsonNumber } from '../lib/exact-json.js';
import type { ManifestEntry } from '../schemas/manifest.js';
import {
  decodeBinaryData,
  decodeData,
  encodeData,
  isDatatype,
  type Tensor,
  type TensorData,
  TensorError,
} from './tensor.js';

export interface InferInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  /** Absent when the input's bytes come in binary (binary-tensor-data.ts). */
  data?: unknown[];
}

export interface InferRequestBody {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: InferInput[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
}

export interface DecodedRequest {
  inputs: Record<string, Tensor>;
  outputs: string[];
  /** Size of the batch dimension (1 for models that do not batch). */
  rows: number;
}

/**
 * Decodes and checks a request body. `path` prefixes field paths in errors, e.g. '/body' for the infer
 * route or '/body/params/requests/3' inside a batch job. `binary` holds the bytes of the inputs sent as
 * binary tensor data, by input index.
 */
export function decodeInferRequest(
  entry: ManifestEntry,
  body: InferRequestBody,
  path = '/body',
  binary: ReadonlyMap<number, Uint8Array> = new Map(),
): DecodedRequest {
  const errors: FieldError[] = [];
  const inputs: Record<string, Tensor> = {};
  const specs = new Map(entry.inputs.map((spec) => [spec.name, spec]));
  let rows: number | undefined;

  body.inputs.forEach((input, index) => {
    const at = `${path}/inputs/${index}`;
    const spec = specs.get(input.name);
    if (spec === undefined) {
      errors.push({
        path: `${at}/name`,
        message: `unknown input '${input.name}'; expected ${[...specs.keys()].join(', ')}`,
      });
      return;
    }
    if (inputs[input.name] !== undefined) {
      errors.push({ path: `${at}/name`, message: `input '${input.name}' given twice` });
      return;
    }
    if (!isDatatype(input.datatype) || input.datatype !== spec.datatype) {
      errors.push({
        path: `${at}/datatype`,
        message: `input '${input.name}' must be ${spec.datatype}, got ${input.datatype}`,
      });
      return;
    }
    if (input.shape.length !== spec.shape.length) {
      errors.push({
        path: `${at}/shape`,
        message: `input '${input.name}' must have rank ${spec.shape.length} ([${spec.shape.join(', ')}]), got [${input.shape.join(', ')}]`,
      });
      return;
    }
    const mismatch = spec.shape.findIndex((dim, axis) => dim >= 0 && dim !== input.shape[axis]);
    if (mismatch >= 0) {
      errors.push({
        path: `${at}/shape/${mismatch}`,
        message: `input '${input.name}' needs shape [${spec.shape.join(', ')}] (-1 = any), got [${input.shape.join(', ')}]`,
      });
      return;
    }
    if (entry.max_batch_size > 0) {
      const batch = input.shape[0] as number;
      if (batch < 1 || batch > entry.max_batch_size) {
        errors.push({
          path: `${at}/shape/0`,
          message: `batch size must be 1 … ${entry.max_batch_size}, got ${batch}`,
        });
        return;
      }
      if (rows !== undefined && rows !== batch) {
        errors.push({
          path: `${at}/shape/0`,
          message: `every input needs the same batch size (${rows}), got ${batch}`,
        });
        return;
      }
      rows = batch;
    }
    const bytes = binary.get(index);
    // binary_data_size says the bytes follow the JSON: beside JSON data it is refused, as on the binary path.
    const declared = input.parameters?.binary_data_size !== undefined;
    if (bytes === undefined && (input.data === undefined || declared)) {
      errors.push({
        path: `${at}/data`,
        message: declared
          ? `input '${input.name}' declares binary_data_size, but the request has no Inference-Header-Content-Length header and no binary part`
          : `input '${input.name}' has no data`,
      });
      return;
    }
    try {
      const data =
        bytes === undefined
          ? decodeData(spec.datatype, input.shape, input.data, `${at}/data`)
          : decodeBinaryData(spec.datatype, input.shape, bytes, at);
      if (spec.range !== undefined) checkRange(data, spec.range, input.name, `${at}/data`);
      inputs[input.name] = { datatype: spec.datatype, shape: input.shape, data };
    } catch (error) {
      if (!(error instanceof TensorError)) throw error;
      errors.push(error.toFieldError());
    }
  });

  for (const name of specs.keys()) {
    if (!body.inputs.some((input) => input.name === name)) {
      errors.push({ path: `${path}/inputs`, message: `missing input '${name}'` });
    }
  }

  const outputNames = entry.outputs.map((spec) => spec.name);
  let outputs = outputNames;
  if (body.outputs !== undefined) {
    outputs = [];
    body.outputs.forEach((output, index) => {
      if (!outputNames.includes(output.name)) {
        errors.push({
          path: `${path}/outputs/${index}/name`,
          message: `unknown output '${output.name}'; expected ${outputNames.join(', ')}`,
        });
      } else if (outputs.includes(output.name)) {
        errors.push({
          path: `${path}/outputs/${index}/name`,
          message: `output '${output.name}' requested twice`,
        });
      } else {
        outputs.push(output.name);
      }
    });
  }

  if (errors.length > 0) {
    throw new InvalidInputError(`the request does not fit model ${entry.name}@${entry.version}`, errors);
  }
  return { inputs, outputs, rows: rows ?? 1 };
}

/**
 * Refuses a decoded request that asks for more work than the model's manifest `work.max` allows (rows ×
 * per-row cost), before it reaches an inference thread: a 413 that points to the batch job, which runs
 * such work off the serving threads.
 */
export function checkWork(
  entry: ManifestEntry,
  request: DecodedRequest,
  body: InferRequestBody,
  path = '/body',
): void {
  const { max, rows: rowsInput, per_row: perRowInput } = entry.work;
  const spec = entry.inputs.find((input) => input.name === rowsInput);
  const tensor = request.inputs[rowsInput];
  if (spec === undefined || tensor === undefined) return;
  const rows = spec.shape.reduce(
    (product, dim, axis) => (dim < 0 ? product * (tensor.shape[axis] as number) : product),
    1,
  );
  const perRow = perRowInput === undefined ? 1 : Number(request.inputs[perRowInput]?.data[0] ?? 1);
  const work = rows * perRow;
  if (work <= max) return;
  const index = body.inputs.findIndex((input) => input.name === rowsInput);
  const cost = perRowInput === undefined ? `${rows} rows` : `${rows} rows × ${perRow} ${perRowInput}`;
  const message = `asks for ${cost} = ${work}; one request may ask for ${max}`;
  throw new TooLargeError(
    `the request ${message} of model ${entry.name}@${entry.version}; submit larger work as an ` +
      `onnx.batch-infer job (POST /v1/jobs), which runs it off the serving threads`,
    [{ path: `${path}/inputs/${index}/shape`, message }],
  );
}

/** The manifest's bound on an input's values (an iteration count, say), checked element by element. */
function checkRange(
  data: TensorData,
  range: { minimum: number; maximum: number },
  name: string,
  path: string,
): void {
  for (let index = 0; index < data.length; index++) {
    const value = Number(data[index]);
    if (value < range.minimum || value > range.maximum) {
      throw new TensorError(
        `${path}/${index}`,
        `input '${name}' must be within [${range.minimum}, ${range.maximum}], got ${value}`,
      );
    }
  }
}

export interface InferResponseBody {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: Array<{
    name: string;
    datatype: string;
    shape: number[];
    /** INT64 values beyond ±(2^53 − 1), NaN and ±Infinity are JsonNumbers: write the body with exactJson. */
    data?: Array<number | boolean | JsonNumber>;
    parameters?: { binary_data_size: number };
  }>;
}

/**
 * Why an answer's JSON outputs are too many numbers to write — more than `maxElements` in all — or undefined
 * when they are not; checked before the answer is built. An output's size can follow an input's values
 * (ConstantOfShape, Expand, Range): a [20 000, 20 000] output of an uploaded graph, 400 million numbers,
 * ended the process as it became a JSON array (V8 holds at most about 2^27 elements in one). Binary
 * outputs are the tensors' own bytes and are not counted.
 */
export function answerTooLarge(
  outputs: Record<string, Tensor>,
  order: string[],
  binary: ReadonlySet<string>,
  maxElements: number,
): string | undefined {
  const json = order.filter((name) => !binary.has(name));
  const elements = json.reduce((sum, name) => sum + (outputs[name] as Tensor).data.length, 0);
  if (elements <= maxElements) return undefined;
  const sizes = json.map((name) => `'${name}' ${(outputs[name] as Tensor).shape.join('×')}`).join(', ');
  return `the outputs hold ${elements} numbers as JSON (${sizes}); an answer may hold ${maxElements}`;
}

/** The JSON response; outputs named in `binary` carry their byte count instead of data (binary-tensor-data.ts). */
export function encodeInferResponse(
  entry: ManifestEntry,
  id: string | undefined,
  outputs: Record<string, Tensor>,
  order: string[],
  binary: ReadonlySet<string> = new Set(),
): InferResponseBody {
  return {
    model_name: entry.name,
    model_version: entry.version,
    ...(id === undefined ? {} : { id }),
    outputs: order.map((name) => {
      const tensor = outputs[name] as Tensor;
      const head = { name, datatype: tensor.datatype, shape: tensor.shape };
      return binary.has(name)
        ? { ...head, parameters: { binary_data_size: tensor.data.byteLength } }
        : { ...head, data: encodeData(tensor) };
    }),
  };
}
