// Schemas of the embedding and collection routes: image items, vectors, points, filters, searches.
import { Type } from '@sinclair/typebox';
import { IMAGE_SIDE, MapOf, ModelName } from './common.js';

/** A 28×28 PNG (a bar on black), for examples that must decode. */
export const SAMPLE_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAFUlEQVR4nGNgGKLgBBSMSg4PySEAAKRuZAF5ER3EAAAAAElFTkSuQmCC';

/** The embedding model of /v1/embeddings when a request names none. */
export const DEFAULT_EMBEDDING_MODEL = 'fmnist-embed-mf';

export const MAX_DIM = 4096;
/** The largest side of a PNG a client may send. */
export const MAX_PNG_SIDE = 1024;
/** Longest base64 string accepted for one image (a 1024×1024 8-bit PNG compresses well below this). */
export const MAX_PNG_BASE64_LENGTH = 4 * 1024 * 1024;
export const MAX_K = 1000;
/**
 * A point's payload, as JSON, at most (a document chunk and its metadata fit many times over): one search
 * answers up to 1 000 points with their payloads, a batch 256 times that.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/**
 * The payloads one search answer (a batch's included) may carry, in bytes of JSON: without it, a batch of
 * 256 queries for 1 000 points of 60 KB built a 15 GB answer, past the longest string V8 can build (500).
 */
export const MAX_ANSWER_PAYLOAD_BYTES = 32 * 1024 * 1024;

export const ImageItem = Type.Union(
  [
    Type.String({
      minLength: 1,
      maxLength: MAX_PNG_BASE64_LENGTH,
      description:
        'A base64 PNG (optionally as a data: URL). Any colour type, non-interlaced, up to 1024×1024; colour ' +
        'becomes luminance, transparency is composited over black, and other sizes are resized to 28×28 ' +
        'by area averaging.',
    }),
    Type.Array(
      Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: IMAGE_SIDE, maxItems: IMAGE_SIDE }),
      {
        minItems: IMAGE_SIDE,
        maxItems: IMAGE_SIDE,
        description: '28 rows of 28 intensities in [0, 1] (0 = black background, as in Fashion-MNIST).',
      },
    ),
  ],
  { description: 'An image: a base64 PNG or a 28×28 intensity array.' },
);

export const Vector = Type.Array(Type.Number(), {
  minItems: 1,
  maxItems: MAX_DIM,
  description: "A vector of the collection's dimension (cosine collections store it normalised).",
});

/** The change sequence a replica's collections reflect (see docs/retrieval.md#replicas-and-sequences). */
const Sequence = Type.Integer({
  minimum: 0,
  description:
    'Change sequence: every write to the collections is numbered, and a replica reports the last it reflects.',
});

const MinSequence = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description:
    "Wait (at most 5 s, then 503) until this replica reflects this change sequence: pass a write's `sequence` to read your own writes through any replica.",
});

/** ?min_sequence= on reads that have no body. */
export const MinSequenceQuery = Type.Object(
  { min_sequence: Type.Optional(MinSequence) },
  { additionalProperties: false },
);

export const CollectionName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$',
  description: 'Collection name: letters, digits, _ and -.',
  examples: ['fashion-mnist'],
});

const VectorsModel = Type.String({
  minLength: 1,
  maxLength: 128,
  description: "The model the vectors come from; refused (422) unless it is the collection's model.",
});

export const PointId = Type.String({ minLength: 1, maxLength: 256, description: 'Your id for the point.' });

const Scalar = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

export const Filter = MapOf(
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Union([
    Scalar,
    Type.Object({ in: Type.Array(Scalar, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
  ]),
  {
    maxProperties: 16,
    description:
      'Payload conditions, all of which must hold: {field: value} (equal) or {field: {in: [values]}}. ' +
      'A field that no point of the collection has is a 400.',
    examples: [{ class_name: { in: ['Sneaker', 'Sandal'] } }],
  },
);

export const CreateCollectionBody = Type.Object(
  {
    name: CollectionName,
    model: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Embedding model for images; fixes dim.' }),
    ),
    dim: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_DIM,
        description: 'Vector dimension, for vector-only collections.',
      }),
    ),
    metric: Type.Union([Type.Literal('cosine'), Type.Literal('dot'), Type.Literal('l2')], {
      default: 'cosine',
    }),
    index: Type.Object(
      {
        type: Type.Union([Type.Literal('hnsw'), Type.Literal('flat')], { default: 'hnsw' }),
        m: Type.Integer({ minimum: 2, maximum: 128, default: 16, description: 'HNSW graph degree.' }),
        ef_construction: Type.Integer({ minimum: 8, maximum: 2000, default: 200 }),
        ef_search: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 64,
          description: 'Default search ef.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { name: 'fashion-mnist', model: 'fmnist-embed-mf', metric: 'cosine', index: { type: 'hnsw' } },
    ],
  },
);

const ModelRef = Type.Object({ name: Type.String(), version: Type.String(), sha256: Type.String() });

const COLLECTION_EXAMPLE = {
  name: 'fashion-mnist',
  state: 'ready',
  dim: 64,
  metric: 'cosine',
  model: { name: 'fmnist-embed-mf', version: '1', sha256: '…' },
  index: { type: 'hnsw', m: 16, ef_construction: 200, ef_search: 64 },
  count: 70000,
  payload_fields: ['class_name', 'index', 'label', 'split'],
  created_at: '2026-12-02T15:00:00.000Z',
  sequence: 12,
};

export const CollectionInfo = Type.Object(
  {
    name: Type.String(),
    state: Type.Literal('ready', { description: 'Served (a damaged collection answers with its damage).' }),
    dim: Type.Integer(),
    metric: Type.String(),
    model: Type.Union([ModelRef, Type.Null()]),
    index: Type.Object({
      type: Type.String(),
      m: Type.Integer(),
      ef_construction: Type.Integer(),
      ef_search: Type.Integer(),
    }),
    count: Type.Integer({ description: 'Points stored.' }),
    payload_fields: Type.Array(Type.String(), { description: 'Payload fields a filter may name.' }),
    created_at: Type.String(),
    sequence: {
      ...Sequence,
      description: 'The change sequence this answer reflects (for a create: the one it produced).',
    },
  },
  { examples: [COLLECTION_EXAMPLE] },
);

const DAMAGED_EXAMPLE = {
  name: 'products',
  state: 'damaged',
  damage: 'section 2 does not match its checksum',
  detected_at: '2026-12-05T09:00:00.000Z',
};

export const DamagedCollectionInfo = Type.Object(
  {
    name: Type.String(),
    state: Type.Literal('damaged'),
    damage: Type.String({ description: 'What is wrong with its file.' }),
    detected_at: Type.String(),
  },
  {
    description:
      'A collection whose file failed its checksums at start: not served until POST …/recover rebuilds it ' +
      'from its intact points, or DELETE removes it (the file is kept aside either way).',
    examples: [DAMAGED_EXAMPLE],
  },
);

/** A collection as GET /v1/collections/{name} describes it: served, or damaged. */
export const CollectionDescription = Type.Union([CollectionInfo, DamagedCollectionInfo]);

export const CollectionList = Type.Object(
  {
    data: Type.Array(CollectionInfo),
    damaged: Type.Array(DamagedCollectionInfo, {
      description: 'Collections not served: recover or delete them.',
    }),
  },
  { examples: [{ data: [COLLECTION_EXAMPLE], damaged: [] }] },
);

export const RecoveryReply = Type.Object(
  {
    recovered: Type.Integer({ description: 'Points that passed their checksums and are served again.' }),
    lost: Type.Integer({ description: 'Points whose id, payload or vector did not survive.' }),
    kept_aside: Type.String({ description: 'The damaged file, renamed, in the collections directory.' }),
    collection: CollectionInfo,
  },
  {
    examples: [
      {
        recovered: 69_999,
        lost: 1,
        kept_aside: 'fashion-mnist.collection.damaged-2026-12-05T09-01-00.000Z',
        collection: COLLECTION_EXAMPLE,
      },
    ],
  },
);

export const PointInput = Type.Object(
  {
    id: PointId,
    vector: Type.Optional(Vector),
    image: Type.Optional(ImageItem),
    payload: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Any JSON object.' })),
  },
  { additionalProperties: false, description: 'Exactly one of vector and image.' },
);

export const UpsertBody = Type.Object(
  {
    model: Type.Optional(VectorsModel),
    points: Type.Array(PointInput, { minItems: 1, maxItems: 1000 }),
    min_sequence: Type.Optional(MinSequence),
  },
  {
    additionalProperties: false,
    examples: [{ points: [{ id: 'a', vector: [0.1, 0.2, 0.3], payload: { colour: 'red' } }] }],
  },
);

export const SearchBody = Type.Object(
  {
    vector: Type.Optional(Vector),
    image: Type.Optional(ImageItem),
    id: Type.Optional({ ...PointId, description: "A stored point's id: its neighbours, itself excluded." }),
    k: Type.Integer({ minimum: 1, maximum: MAX_K, default: 10 }),
    filter: Type.Optional(Filter),
    ef: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'HNSW ef for this query.' })),
    with_payload: Type.Boolean({
      default: true,
      description: 'false: results carry payload null (smaller replies).',
    }),
    model: Type.Optional(VectorsModel),
    min_sequence: Type.Optional(MinSequence),
  },
  {
    additionalProperties: false,
    description: 'Exactly one of vector, image and id.',
    examples: [{ id: 'test-0', k: 8 }],
  },
);

export const BatchSearchBody = Type.Object(
  {
    queries: Type.Array(SearchBody, { minItems: 1, maxItems: 256 }),
    min_sequence: Type.Optional(MinSequence),
  },
  {
    additionalProperties: false,
    examples: [
      {
        queries: [
          { id: 'test-0', k: 8 },
          { id: 'test-1', k: 8 },
        ],
      },
    ],
  },
);

export const CollectionPath = Type.Object({ name: CollectionName });
export const PointPath = Type.Object({ name: CollectionName, id: PointId });

export const SearchHits = Type.Array(
  Type.Object({
    id: Type.String(),
    score: Type.Number({ description: 'cosine / dot: similarity (higher is closer); l2: distance.' }),
    payload: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  }),
);

const HIT_EXAMPLE = {
  id: 'test-42',
  score: 0.97,
  payload: { label: 7, class_name: 'Sneaker', split: 'test', index: 42 },
};

export const SearchReply = Type.Object(
  { results: SearchHits, took_ms: Type.Number(), sequence: Sequence },
  { examples: [{ results: [HIT_EXAMPLE], took_ms: 0.4, sequence: 12 }] },
);

export const BatchSearchReply = Type.Object(
  {
    results: Type.Array(SearchHits, { description: 'One list per query, in query order.' }),
    took_ms: Type.Number(),
    sequence: Sequence,
  },
  { examples: [{ results: [[HIT_EXAMPLE]], took_ms: 1.2, sequence: 12 }] },
);

export const UpsertReply = Type.Object(
  {
    upserted: Type.Integer(),
    count: Type.Integer({ description: 'Points in the collection now.' }),
    sequence: { ...Sequence, description: 'The change sequence this upsert produced.' },
  },
  { examples: [{ upserted: 1, count: 70001, sequence: 13 }] },
);

export const PointReply = Type.Object(
  {
    id: Type.String(),
    vector: Type.Array(Type.Number()),
    payload: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  },
  { examples: [{ id: 'test-42', vector: [0.12, -0.03, 0.2], payload: { label: 7 } }] },
);

export const EmbeddingsBody = Type.Object(
  {
    model: Type.Optional({
      ...ModelName,
      description: `An embedding model; default ${DEFAULT_EMBEDDING_MODEL}.`,
    }),
    input: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(ImageItem, { minItems: 1, maxItems: 1024 })],
      {
        description: 'One base64 PNG, or a list of images (base64 PNGs or 28×28 intensity arrays).',
      },
    ),
    encoding_format: Type.Union([Type.Literal('float'), Type.Literal('base64')], {
      default: 'float',
      description:
        'float: arrays of numbers; base64: the little-endian float32 bytes of each vector, as OpenAI.',
    }),
    dimensions: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "The model's dimension, if given (these embeddings are not truncatable; GET /v1/models).",
      }),
    ),
    user: Type.Optional(
      Type.String({ maxLength: 256, description: 'Accepted for OpenAI clients; not used.' }),
    ),
  },
  { additionalProperties: false, examples: [{ input: [SAMPLE_PNG] }] },
);

export const EmbeddingsReply = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({
      object: Type.Literal('embedding'),
      index: Type.Integer(),
      embedding: Type.Union([Type.Array(Type.Number()), Type.String({ description: 'base64 float32 LE' })]),
    }),
  ),
  model: Type.String(),
  model_version: Type.String(),
  model_sha256: Type.String(),
  usage: Type.Object(
    { prompt_tokens: Type.Integer(), total_tokens: Type.Integer() },
    { description: 'One "token" per image, for clients that expect OpenAI usage fields.' },
  ),
});
