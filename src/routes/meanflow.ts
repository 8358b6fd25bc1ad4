// One-step image generation: POST /v1/meanflow/samples (JSON, PNG as base64 or raw intensities) and
// GET /v1/meanflow/grid.png (a contact sheet for a browser). The FM baseline is served the same way.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { InvalidInputError } from '../errors.js';
import { encodeGreyPng, tileGrid, toBytes } from '../lib/png-encode.js';
import { seedOrRandom } from '../lib/random.js';
import { DEFAULT_GENERATOR, type GeneratedImages, generate } from '../models/meanflow.js';
import { IMAGE_SIDE, ModelName, problems, Seed } from '../schemas/common.js';

const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

const ModelReference = Type.Object({ name: Type.String(), version: Type.String(), sha256: Type.String() });

const SamplesBody = Type.Object(
  {
    model: Type.Optional({ ...ModelName, description: `A generator model; default ${DEFAULT_GENERATOR}.` }),
    n: Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'Samples to generate.' }),
    classes: Type.Optional(
      Type.Union(
        [
          Type.Integer({ minimum: 0, maximum: 1023 }),
          Type.Array(Type.Integer({ minimum: 0, maximum: 1023 }), { minItems: 1, maxItems: 256 }),
        ],
        { description: 'One class for all, one per sample, or absent for uniformly random classes.' },
      ),
    ),
    steps: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 1,
      description:
        'Network evaluations: 1 or 2 for MeanFlow, 1 … 64 Euler steps for the flow-matching baseline.',
    }),
    seed: Type.Optional(Seed),
    format: Type.Union([Type.Literal('png'), Type.Literal('raw')], {
      default: 'png',
      description: 'png: base64 PNG per sample; raw: 784 intensities in [0, 1], row-major.',
    }),
  },
  {
    additionalProperties: false,
    examples: [{ n: 4, classes: [0, 1, 7, 9], steps: 1, seed: 42, format: 'png' }],
  },
);

const SamplesReply = Type.Object(
  {
    samples: Type.Array(
      Type.Object({
        class: Type.Integer(),
        class_name: Type.String(),
        png: Type.Optional(Type.String({ description: 'base64 PNG, 28×28 greyscale' })),
        data: Type.Optional(Type.Array(Type.Number())),
      }),
    ),
    seed: Type.Integer(),
    steps: Type.Integer(),
    nfe: Type.Integer({ description: 'Network evaluations of the velocity model per sample.' }),
    model: ModelReference,
    decoder: ModelReference,
    guidance: Type.Record(Type.String(), Type.Number(), { description: 'Guidance baked in by training.' }),
    timing: Type.Object({ ms: Type.Number() }),
  },
  {
    examples: [
      {
        samples: [{ class: 7, class_name: 'Sneaker', png: 'iVBORw0KGgo…' }],
        seed: 42,
        steps: 1,
        nfe: 1,
        model: { name: 'meanflow-fmnist', version: '1', sha256: '…' },
        decoder: { name: 'fmnist-ae-decoder', version: '1', sha256: '…' },
        guidance: { omega: 1.5, kappa: 0 },
        timing: { ms: 4.2 },
      },
    ],
  },
);

const GridQuery = Type.Object(
  {
    model: Type.Optional(ModelName),
    classes: Type.Optional(
      Type.String({
        pattern: '^\\d{1,4}(,\\d{1,4}){0,31}$',
        description: 'Comma-separated classes, one row each; default every class.',
      }),
    ),
    n: Type.Integer({ minimum: 1, maximum: 16, default: 8, description: 'Samples per class (columns).' }),
    steps: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1, default: 0 }),
  },
  { additionalProperties: false },
);

function reference(model: GeneratedImages['model']) {
  return { name: model.entry.name, version: model.entry.version, sha256: model.entry.sha256 };
}

const meanflowRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/meanflow/samples',
    {
      config: { family: 'inference' },
      schema: {
        tags: ['generation'],
        summary:
          'Generate Fashion-MNIST images in 1 or 2 network evaluations (MeanFlow) or 1 … 64 (flow matching)',
        body: SamplesBody,
        response: { 200: SamplesReply, ...problems(400, 404, 413, 415, 422, 503) },
      },
    },
    async (request) => {
      const started = performance.now();
      const { format, ...rest } = request.body;
      const seed = seedOrRandom(rest.seed);
      const generated = await generate(app.models, { ...rest, seed }, '/body', request.work);
      const bytes = format === 'png' ? toBytes(generated.images) : undefined;
      const samples = generated.classes.map((cls, index) => {
        const sample = { class: cls, class_name: generated.spec.classes[cls] as string };
        if (bytes === undefined) {
          return {
            ...sample,
            data: Array.from(generated.images.subarray(index * PIXELS, (index + 1) * PIXELS)),
          };
        }
        const png = encodeGreyPng(
          bytes.subarray(index * PIXELS, (index + 1) * PIXELS),
          IMAGE_SIDE,
          IMAGE_SIDE,
        );
        return { ...sample, png: png.toString('base64') };
      });
      request.log.info({ model: generated.model.key, n: rest.n, steps: rest.steps }, 'generated');
      return {
        samples,
        seed,
        steps: rest.steps,
        nfe: rest.steps,
        model: reference(generated.model),
        decoder: reference(generated.decoder),
        guidance: generated.spec.guidance,
        timing: { ms: Math.round((performance.now() - started) * 100) / 100 },
      };
    },
  );

  app.get(
    '/v1/meanflow/grid.png',
    {
      config: { family: 'inference' },
      schema: {
        tags: ['generation'],
        summary: 'A PNG contact sheet: one row per class, n samples each (open it in a browser)',
        produces: ['image/png'],
        querystring: GridQuery,
        response: {
          200: Type.String({ description: 'image/png', examples: ['(PNG bytes)'] }),
          ...problems(400, 404, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const { model, n, steps, seed } = request.query;
      const rows = request.query.classes?.split(',').map(Number);
      const spec = app.models.get(model ?? DEFAULT_GENERATOR).entry.generator;
      const classList = rows ?? (spec ? spec.classes.map((_, index) => index) : [0]);
      if (classList.length * n > 256) {
        throw new InvalidInputError('a grid holds at most 256 images', [
          { path: '/query/n', message: `${classList.length} classes × ${n} is over 256` },
        ]);
      }
      const classes = classList.flatMap((cls) => new Array(n).fill(cls) as number[]);
      const generated = await generate(
        app.models,
        {
          ...(model === undefined ? {} : { model }),
          n: classes.length,
          classes,
          steps,
          seed,
        },
        '/query',
        request.work,
      );
      const grid = tileGrid(toBytes(generated.images), classes.length, IMAGE_SIDE, n);
      reply.type('image/png').header('cache-control', 'no-store');
      return reply.send(encodeGreyPng(grid.pixels, grid.width, grid.height) as unknown as string);
    },
  );
};

export default meanflowRoutes;
