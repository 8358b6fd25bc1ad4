// collections.index: embeds a range of Fashion-MNIST images with the collection's model, in chunks with
// progress and cancellation between them, and returns the points as the artifact points.bin. An API
// process writes them through its collection store (src/jobs/index-job-applier.ts): a worker needs no
// access to the store, and the store applies each job once.

import { cancellationPoint } from '../../lib/cancellation.js';
import { LocalModels } from '../../models/local-models.js';
import { encodeIndexPoints, INDEX_POINTS_ARTIFACT } from '../../retrieval/collections/index-points.js';
import { embeddingDim, embedImagesLocally } from '../../retrieval/embedding/embedder.js';
import { CLASS_NAMES, imageAt, readFashionMnist } from '../../retrieval/embedding/fashion-mnist.js';
import type { CollectionsIndexParams } from '../params/collections-index.js';
import { JobInputError, type Processor } from '../processor.js';

const CHUNK = 256;

export const collectionsIndex: Processor<CollectionsIndexParams> = async (params, context) => {
  if (params.model === undefined)
    throw new JobInputError('params.model is filled in at submit; it is missing');
  const { split } = params.source;
  const models = new LocalModels(context.models);
  try {
    const entry = await models.entry(params.model.name, params.model.version);
    if (entry === undefined)
      throw new JobInputError(`model ${params.model.name}@${params.model.version} is not served`);
    const dim = embeddingDim(entry);
    const directory = split === 'demo' ? context.models.modelsDir : context.models.fashionMnistDir;
    const images = await readFashionMnist(directory, split).catch((error: Error) => {
      throw new JobInputError(`Fashion-MNIST ${split} split cannot be read: ${error.message}`);
    });
    const offset = params.source.offset ?? 0;
    const end = Math.min(images.count, offset + (params.source.limit ?? images.count));
    if (offset >= images.count)
      throw new JobInputError(`offset ${offset} is past the ${images.count} images`);
    const count = end - offset;
    // The demo images are the first test images: same ids and payloads as the full test split.
    const datasetSplit = split === 'demo' ? 'test' : split;
    const prefix = params.id_prefix ?? `${datasetSplit}-`;
    const vectors = new Float32Array(count * dim);
    const ids: string[] = [];
    const payloads: Array<Record<string, unknown>> = [];
    for (let start = offset; start < end; start += CHUNK) {
      await cancellationPoint(context.signal);
      const stop = Math.min(end, start + CHUNK);
      const chunk = Array.from({ length: stop - start }, (_, i) => imageAt(images, start + i));
      const embedded = await embedImagesLocally(models.runByName, entry, chunk);
      embedded.forEach((vector, i) => {
        const index = start + i;
        const label = images.labels[index] as number;
        vectors.set(vector, (index - offset) * dim);
        ids.push(`${prefix}${index}`);
        payloads.push({
          label,
          class_name: CLASS_NAMES[label],
          split: datasetSplit,
          index,
        });
      });
      context.progress({
        fraction: (stop - offset) / count,
        message: `${stop - offset} of ${count} images embedded`,
      });
    }
    return {
      result: {
        collection: params.collection,
        points: count,
        model: { name: entry.name, version: entry.version, sha256: entry.sha256 },
        source: { split, offset, limit: count },
      },
      artifacts: [
        {
          name: INDEX_POINTS_ARTIFACT,
          contentType: 'application/octet-stream',
          data: encodeIndexPoints({ dim, ids, payloads, vectors }),
        },
      ],
    };
  } finally {
    await models.close();
  }
};
