// meanflow.generate: up to 50 000 images from a generator, in chunks of 256 with progress and cancellation
// between chunks; writes samples.npy (uint8, n × 28 × 28), classes.npy (int64, n) and a contact sheet of
// the first 100. The same seed gives the same images as POST /v1/meanflow/samples.

import { cancellationPoint } from '../../lib/cancellation.js';
import { encodeNpy } from '../../lib/npy.js';
import { encodeGreyPng, tileGrid, toBytes } from '../../lib/png-encode.js';
import { generateImages, planSamples } from '../../models/generator.js';
import { LocalModels } from '../../models/local-models.js';
import { checkGenerateRequest, generatorOf } from '../../models/meanflow.js';
import { IMAGE_SIDE } from '../../schemas/common.js';
import type { ManifestEntry } from '../../schemas/manifest.js';
import { DEFAULT_GENERATOR } from '../../schemas/meanflow.js';
import type { MeanflowGenerateParams } from '../params/meanflow-generate.js';
import { JobInputError, type Processor } from '../processor.js';

const CHUNK = 256;
const SHEET = 100;

export const meanflowGenerate: Processor<MeanflowGenerateParams> = async (params, context) => {
  const models = new LocalModels(context.models);
  const find = async (name: string): Promise<ManifestEntry> => {
    const entry = await models.entry(name);
    if (entry === undefined) throw new JobInputError(`model ${name} is not served`);
    return entry;
  };
  try {
    const entry = await find(params.model ?? DEFAULT_GENERATOR);
    const spec = generatorOf(entry);
    const classes = checkGenerateRequest(spec, { ...params, seed: context.seed }, '/params');
    const decoder = await find(spec.decoder);
    const plan = planSamples(spec, params.n, classes, context.seed);
    const pixels = IMAGE_SIDE * IMAGE_SIDE;
    const images = new Uint8Array(params.n * pixels);
    for (let start = 0; start < params.n; start += CHUNK) {
      await cancellationPoint(context.signal);
      const end = Math.min(params.n, start + CHUNK);
      const chunk = {
        classes: plan.classes.slice(start, end),
        noise: plan.noise.subarray(start * spec.latent_dim, end * spec.latent_dim),
      };
      images.set(
        toBytes(await generateImages(models.runByName, entry.name, spec, chunk, params.steps)),
        start * pixels,
      );
      context.progress({ fraction: end / params.n, message: `${end} of ${params.n} images` });
    }
    const shown = Math.min(SHEET, params.n);
    const sheet = tileGrid(images, shown, IMAGE_SIDE, 10);
    const reference = (e: ManifestEntry) => ({ name: e.name, version: e.version, sha256: e.sha256 });
    return {
      result: {
        model: reference(entry),
        decoder: reference(decoder),
        n: params.n,
        steps: params.steps,
        nfe: params.steps,
        artifacts: ['samples.npy', 'classes.npy', 'contact-sheet.png'],
      },
      artifacts: [
        {
          name: 'samples.npy',
          contentType: 'application/octet-stream',
          data: encodeNpy(images, [params.n, IMAGE_SIDE, IMAGE_SIDE]),
        },
        {
          name: 'classes.npy',
          contentType: 'application/octet-stream',
          data: encodeNpy(new BigInt64Array(plan.classes.map(BigInt)), [params.n]),
        },
        {
          name: 'contact-sheet.png',
          contentType: 'image/png',
          data: encodeGreyPng(sheet.pixels, sheet.width, sheet.height),
        },
      ],
    };
  } finally {
    await models.close();
  }
};
