// Images → unit embedding vectors through a served embedding model. The API path goes through the registry
// (inference threads, micro-batched with other requests: embeddings take no seed, so batching is safe);
// jobs pass a RunModel that opens the model in their own thread.
import { UnprocessableError } from '../../errors.js';
import type { Abortable } from '../../lib/abortable.js';
import type { RunModel } from '../../models/generator.js';
import type { ModelRegistry } from '../../models/registry.js';
import type { Tensor } from '../../models/tensor.js';
import { IMAGE_SIDE } from '../../schemas/common.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import { IMAGE_PIXELS } from './resize.js';

export const EMBEDDING_INPUT = 'image';
export const EMBEDDING_OUTPUT = 'embedding';

/** The embedding dimension of a manifest entry; 422 when the model is not an image-embedding model. */
export function embeddingDim(entry: ManifestEntry): number {
  const output = entry.outputs.find((spec) => spec.name === EMBEDDING_OUTPUT);
  const input = entry.inputs.find((spec) => spec.name === EMBEDDING_INPUT);
  const dim = output?.shape[1];
  const takesImages = input !== undefined && input.shape.slice(1).join() === `1,${IMAGE_SIDE},${IMAGE_SIDE}`;
  if (entry.task !== 'embedding' || !takesImages || dim === undefined || dim < 1) {
    throw new UnprocessableError(
      `model ${entry.name}@${entry.version} is a ${entry.task} model, not an image-embedding model`,
    );
  }
  return dim;
}

function imageTensor(images: Float32Array[]): Tensor {
  // One image (every request at one connection) is its own tensor: no copy.
  if (images.length === 1) {
    return { datatype: 'FP32', shape: [1, 1, IMAGE_SIDE, IMAGE_SIDE], data: images[0] as Float32Array };
  }
  const data = new Float32Array(images.length * IMAGE_PIXELS);
  images.forEach((image, index) => {
    data.set(image, index * IMAGE_PIXELS);
  });
  return { datatype: 'FP32', shape: [images.length, 1, IMAGE_SIDE, IMAGE_SIDE], data };
}

/** Rows of the output tensor as separate vectors. */
function splitRows(tensor: Tensor, dim: number): Float32Array[] {
  const data = tensor.data as Float32Array;
  const rows: Float32Array[] = [];
  for (let row = 0; row * dim < data.length; row++) rows.push(data.slice(row * dim, (row + 1) * dim));
  return rows;
}

/**
 * Embeds through the registry in chunks of the model's batch limit, all chunks in flight at once. When
 * `signal` aborts, the chunks still waiting leave their queues.
 */
export async function embedImages(
  registry: ModelRegistry,
  entry: ManifestEntry,
  images: Float32Array[],
  signal?: Abortable,
): Promise<Float32Array[]> {
  const dim = embeddingDim(entry);
  const model = registry.get(entry.name, entry.version);
  const chunk = Math.max(1, entry.max_batch_size);
  const parts: Promise<Float32Array[]>[] = [];
  for (let start = 0; start < images.length; start += chunk) {
    const slice = images.slice(start, start + chunk);
    parts.push(
      registry
        .infer(
          model,
          { [EMBEDDING_INPUT]: imageTensor(slice) },
          [EMBEDDING_OUTPUT],
          slice.length,
          signal === undefined ? {} : { signal },
        )
        .then((outputs) => splitRows(outputs[EMBEDDING_OUTPUT] as Tensor, dim)),
    );
  }
  return (await Promise.all(parts)).flat();
}

/** The same computation for a job process, one chunk at a time. */
export async function embedImagesLocally(
  run: RunModel,
  entry: ManifestEntry,
  images: Float32Array[],
): Promise<Float32Array[]> {
  const dim = embeddingDim(entry);
  const inputs = { [EMBEDDING_INPUT]: imageTensor(images) };
  const outputs = await run(entry.name, inputs, [EMBEDDING_OUTPUT], images.length);
  return splitRows(outputs[EMBEDDING_OUTPUT] as Tensor, dim);
}
