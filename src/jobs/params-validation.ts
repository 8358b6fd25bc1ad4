// One compiled validator per job type (ajv with defaults and discriminated unions), shared by the jobs
// service at submit and by the job process, which validates again: a worker may run other code than the API
// that accepted the job.
import type { ValidateFunction } from 'ajv';
import { InvalidInputError } from '../errors.js';
import { fieldErrors, inputCompiler } from '../lib/ajv.js';
import type { JobType } from './job-type.js';

const compile = inputCompiler(false);
const validators = new Map<string, ValidateFunction>();

/**
 * Checks params against their job type's schema and completes them with its defaults, in place; a 400
 * listing every field error, each under `prefix` (/body/params at submit), otherwise.
 */
export function validateJobParams(jobType: JobType, params: unknown, prefix: string): void {
  let validate = validators.get(jobType.type);
  if (validate === undefined) {
    validate = compile(jobType.params);
    validators.set(jobType.type, validate);
  }
  if (validate(params)) return;
  const errors = fieldErrors(validate.errors ?? [], prefix);
  throw new InvalidInputError(
    `params do not fit ${jobType.type}: ${errors.map((error) => `${error.path}: ${error.message}`).join('; ')}`,
    errors,
  );
}
