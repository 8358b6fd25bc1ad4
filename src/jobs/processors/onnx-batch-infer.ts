// onnx.batch-infer: one registered model over many OIP requests, asynchronously. Opens its own session in
// the job process (the job may run in a worker process with no API), reports progress per request.

import { cancellationPoint } from '../../lib/cancellation.js';
import { exactJson } from '../../lib/exact-json.js';
import { DEFAULT_JSON_LIMITS } from '../../lib/json-limits.js';
import {
  answerTooLarge,
  decodeInferRequest,
  encodeInferResponse,
  type InferResponseBody,
} from '../../models/infer-request.js';
import { LocalModels } from '../../models/local-models.js';
import type { BatchInferParams } from '../params/onnx-batch-infer.js';
import { JobInputError, type Processor } from '../processor.js';

/** Responses up to this size are also returned inline in the job result. */
const INLINE_RESULT_BYTES = 64 * 1024;

export const batchInfer: Processor<BatchInferParams> = async (params, context) => {
  const models = new LocalModels(context.models);
  try {
    const entry = await models.entry(params.model, params.version);
    if (entry === undefined)
      throw new JobInputError(`model ${params.model}@${params.version ?? 'latest'} is not served`);
    const responses: InferResponseBody[] = [];
    for (const [index, request] of params.requests.entries()) {
      await cancellationPoint(context.signal);
      const decoded = decodeInferRequest(entry, request, `/params/requests/${index}`);
      const outputs = await models.run(entry, decoded.inputs, decoded.outputs);
      // The bound of the inference route's answers at its default: a worker process has no API settings.
      const tooLarge = answerTooLarge(
        outputs,
        decoded.outputs,
        new Set(),
        DEFAULT_JSON_LIMITS.maxArrayLength,
      );
      if (tooLarge !== undefined) {
        throw new JobInputError(`request ${index}: ${tooLarge}; split it into requests of fewer rows`);
      }
      responses.push(encodeInferResponse(entry, request.id, outputs, decoded.outputs));
      context.progress({
        fraction: (index + 1) / params.requests.length,
        message: `${index + 1} of ${params.requests.length} requests`,
      });
    }
    const data = new TextEncoder().encode(exactJson(responses));
    return {
      result: {
        model: { name: entry.name, version: entry.version, sha256: entry.sha256 },
        provider: await models.provider(entry),
        count: responses.length,
        artifact: 'responses.json',
        ...(data.byteLength <= INLINE_RESULT_BYTES ? { responses } : {}),
      },
      artifacts: [{ name: 'responses.json', contentType: 'application/json', data }],
    };
  } finally {
    await models.close();
  }
};
