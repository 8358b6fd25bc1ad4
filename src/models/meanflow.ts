// Image generation requests against the registry: which model, which classes, how many steps — checked
// against the generator's manifest entry — then sampled (generator.ts) through the inference threads.
import { type FieldError, InvalidInputError, UnprocessableError } from '../errors.js';
import type { Abortable } from '../lib/abortable.js';
import type { GeneratorSpec, ManifestEntry } from '../schemas/manifest.js';
import { DEFAULT_GENERATOR } from '../schemas/meanflow.js';
import { generateImages, planSamples } from './generator.js';
import type { LoadedModel, ModelRegistry } from './registry.js';

export interface GenerateRequest {
  model?: string;
  n: number;
  /** One class for all samples, one per sample, or absent for uniformly random classes. */
  classes?: number | number[];
  steps: number;
  seed: number;
}

/** The generator spec of a manifest entry; 422 when the model is not a generator. */
export function generatorOf(entry: ManifestEntry): GeneratorSpec {
  if (entry.generator === undefined) {
    throw new UnprocessableError(
      `model ${entry.name}@${entry.version} is a ${entry.task} model, not an image generator`,
    );
  }
  return entry.generator;
}

/**
 * Checks classes and steps against the generator and expands classes to one per sample (undefined = random).
 * `path` prefixes field paths: '/body' for the route, '/body/params' for the job.
 */
export function checkGenerateRequest(
  spec: GeneratorSpec,
  request: GenerateRequest,
  path: string,
): number[] | undefined {
  const errors: FieldError[] = [];
  const count = spec.classes.length;
  const checkClass = (value: number, at: string) => {
    if (value < 0 || value >= count)
      errors.push({ path: at, message: `unknown class ${value}; classes are 0 … ${count - 1}` });
  };
  let classes: number[] | undefined;
  if (typeof request.classes === 'number') {
    checkClass(request.classes, `${path}/classes`);
    classes = new Array(request.n).fill(request.classes);
  } else if (Array.isArray(request.classes)) {
    if (request.classes.length !== request.n && request.classes.length !== 1) {
      errors.push({
        path: `${path}/classes`,
        message: `give one class, or one per sample (n = ${request.n}); got ${request.classes.length}`,
      });
    }
    request.classes.forEach((value, index) => {
      checkClass(value, `${path}/classes/${index}`);
    });
    classes = request.classes.length === 1 ? new Array(request.n).fill(request.classes[0]) : request.classes;
  }
  if (request.steps < spec.steps.min || request.steps > spec.steps.max) {
    errors.push({
      path: `${path}/steps`,
      message: `this ${spec.kind} model takes ${spec.steps.min} … ${spec.steps.max} steps, got ${request.steps}`,
    });
  }
  if (errors.length > 0) throw new InvalidInputError('the request does not fit the generator', errors);
  return classes;
}

export interface GeneratedImages {
  model: LoadedModel;
  decoder: LoadedModel;
  spec: GeneratorSpec;
  classes: number[];
  /** Intensities in [0, 1], n × 28 × 28. */
  images: Float32Array;
}

/**
 * `path` is where the request's fields are in the HTTP request (/body, or /query for the grid). `signal` (the
 * request's cancellation) stops the steps not yet started, and takes a waiting one out of its queue.
 */
export async function generate(
  registry: ModelRegistry,
  request: GenerateRequest,
  path: string,
  signal?: Abortable,
): Promise<GeneratedImages> {
  const model = registry.get(request.model ?? DEFAULT_GENERATOR);
  const spec = generatorOf(model.entry);
  const classes = checkGenerateRequest(spec, request, path);
  const decoder = registry.get(spec.decoder);
  const plan = planSamples(spec, request.n, classes, request.seed);
  const images = await generateImages(
    (name, inputs, outputs, rows) =>
      registry.infer(registry.get(name), inputs, outputs, rows, {
        exclusive: true,
        ...(signal === undefined ? {} : { signal }),
      }),
    model.entry.name,
    spec,
    plan,
    request.steps,
  );
  return { model, decoder, spec, classes: plan.classes, images };
}
