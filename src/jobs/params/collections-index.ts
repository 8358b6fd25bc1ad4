// The collections.index job type: Fashion-MNIST images embedded with a collection's model, whose points the
// API process applies to the collection (src/jobs/index-job-applier.ts). The model is filled in at submit.
import { type Static, Type } from '@sinclair/typebox';
import { UnprocessableError } from '../../errors.js';
import { ModelName, ModelVersion } from '../../schemas/common.js';
import { CollectionName } from '../../schemas/retrieval.js';
import type { JobSpec } from '../job-type.js';

export const INDEX_JOB_TYPE = 'collections.index';

/** The images of each split: what a job may index at most, checked against the collections' memory at submit. */
const SPLIT_IMAGES = { train: 60_000, test: 10_000, demo: 2_000 } as const;
/** A point's payload as JSON, at most: {"label":9,"class_name":"Ankle boot","split":"train","index":59999}. */
const PAYLOAD_BYTES = 72;

export const CollectionsIndexParams = Type.Object(
  {
    collection: CollectionName,
    source: Type.Object(
      {
        split: Type.Union([Type.Literal('train'), Type.Literal('test'), Type.Literal('demo')], {
          description:
            "Fashion-MNIST split: train (60 000) or test (10 000) from Debian's dataset-fashion-mnist " +
            '(FASHION_MNIST_DIR), or demo: the first 2 000 test images, shipped with the models.',
        }),
        offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 59_999, description: 'First image.' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, description: 'Images to index.' })),
      },
      { additionalProperties: false },
    ),
    id_prefix: Type.Optional(
      Type.String({ maxLength: 64, description: 'Point ids are <prefix><image index>; default "<split>-".' }),
    ),
    model: Type.Optional(
      Type.Object(
        { name: ModelName, version: ModelVersion },
        {
          additionalProperties: false,
          description: "Filled in at submit with the collection's model; when given it must be that model.",
        },
      ),
    ),
  },
  { additionalProperties: false, examples: [{ collection: 'fashion-mnist', source: { split: 'test' } }] },
);
export type CollectionsIndexParams = Static<typeof CollectionsIndexParams>;

export const collectionsIndexJob: JobSpec<typeof CollectionsIndexParams> = {
  type: INDEX_JOB_TYPE,
  summary:
    "Embeds Fashion-MNIST images with the collection's model and upserts them (payload: label, class_name, " +
    'split, index); the points appear in the collection moments after the job completes.',
  params: CollectionsIndexParams,
  check: (params, { collections, fitsCollections }) => {
    const config = collections(params.collection);
    if (config.model === undefined) {
      throw new UnprocessableError(
        `collection '${params.collection}' has no embedding model to embed images with`,
        [{ path: '/body/params/collection', message: 'the collection takes vectors only' }],
      );
    }
    const model = { name: config.model.name, version: config.model.version };
    if (
      params.model !== undefined &&
      (params.model.name !== model.name || params.model.version !== model.version)
    ) {
      throw new UnprocessableError(
        `collection '${params.collection}' embeds with ${model.name}@${model.version}`,
        [{ path: '/body/params/model', message: "must be the collection's model" }],
      );
    }
    const { split, offset = 0, limit } = params.source;
    const images = Math.max(0, Math.min(limit ?? SPLIT_IMAGES[split], SPLIT_IMAGES[split] - offset));
    fitsCollections(params.collection, images, images * PAYLOAD_BYTES);
    return { ...params, model };
  },
};
