// One-step image generation: POST /v1/meanflow/samples (JSON, PNG as base64 or raw intensities) and
// GET /v1/meanflow/grid.png (a contact sheet for a browser). The FM baseline is served the same way.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InvalidInputError } from '../errors.js';
import { prependRowLabels } from '../lib/bitmap-font.js';
import { encodeGreyPng, tileGrid, toBytes } from '../lib/png-encode.js';
import { seedOrRandom } from '../lib/random.js';
import { type GeneratedImages, generate } from '../models/meanflow.js';
import { IMAGE_SIDE, problems } from '../schemas/common.js';
import { DEFAULT_GENERATOR, GridPng, GridQuery, SamplesBody, SamplesReply } from '../schemas/meanflow.js';

const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

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
      const generated = await generate(app.models, { ...rest, seed }, '/body', request.cancellation);
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
          200: GridPng,
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
        request.cancellation,
      );
      const tiles = tileGrid(toBytes(generated.images), classes.length, IMAGE_SIDE, n);
      const names = generated.spec.classes;
      // Row labels: the class names, drawn into a margin on the left (tiles are 1 px apart, 1 px from the top).
      const grid = request.query.labels
        ? prependRowLabels(
            tiles,
            classList.map((cls) => names[cls] ?? String(cls)),
            IMAGE_SIDE + 1,
            1,
          )
        : tiles;
      reply.type('image/png').header('cache-control', 'no-store');
      return reply.send(encodeGreyPng(grid.pixels, grid.width, grid.height) as unknown as string);
    },
  );
};

export default meanflowRoutes;
