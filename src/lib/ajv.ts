// The one ajv setup of the service (request bodies, job params in the API and in job processes): strict or
// coercing, with the shared formats, and its errors turned into field paths.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';
import addFormats from 'ajv-formats';
import type { FieldError } from '../errors.js';

// discriminator: tagged unions (src/lib/tagged-union.ts) validate only the branch their tag names.
const COMMON: Options = {
  allErrors: true,
  useDefaults: true,
  removeAdditional: false,
  strict: false,
  // strict: false would also let NaN and ±Infinity pass as numbers (a query's 1e309 coerces to Infinity).
  strictNumbers: true,
  discriminator: true,
};

export function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes: coerceTypes ? 'array' : false });
  addFormats.default(ajv);
  return ajv;
}

/** Ajv errors → field paths under `prefix` (/body, /query, /body/params …), naming the property that a
 * `required`, `additionalProperties` or `propertyNames` error is about. */
export function fieldErrors(issues: readonly ErrorObject[], prefix: string): FieldError[] {
  // propertyNames reports each bad key twice: what the key broke, then "property name must be valid".
  return explainUnions(issues.filter((issue) => issue.keyword !== 'propertyNames')).map((issue) => {
    const path = `${prefix}${issue.instancePath}`;
    const params = issue.params as Record<string, unknown>;
    if (typeof params.missingProperty === 'string')
      return { path: `${path}/${params.missingProperty}`, message: 'is required' };
    if (typeof params.additionalProperty === 'string') {
      return {
        path: `${path}/${params.additionalProperty}`,
        message: 'unknown field (unknown fields are rejected)',
      };
    }
    if (typeof issue.propertyName === 'string')
      return { path: `${path}/${issue.propertyName}`, message: `key ${issue.message ?? 'is invalid'}` };
    // A list that must be empty is a feature not served that a client may still send as "none".
    if (issue.keyword === 'maxItems' && params.limit === 0) return { path, message: 'must be empty' };
    // Ajv says "must be equal to constant" without the constant: name the one value taken.
    if (issue.keyword === 'const') return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    return { path, message: issue.message ?? 'is invalid' };
  });
}

/**
 * A union (anyOf) that fails reports every branch's errors, then its own "must match a schema in anyOf": a
 * stop of 5 read "must be string; must be array; must match a schema in anyOf". A branch the value's type
 * does not fit says only that. When some branch fits it, that branch's errors say what is wrong and the
 * others are left out; when none does, one error names what the field takes ("must be string or array").
 */
function explainUnions(issues: ErrorObject[]): ErrorObject[] {
  const replaced = new Map<ErrorObject, ErrorObject | undefined>();
  for (const union of issues) {
    if (union.keyword !== 'anyOf') continue;
    const branches = new Map<string, ErrorObject[]>();
    const within = `${union.schemaPath}/`;
    // The same union may fail at several places (the items of a list): only this place's errors are its.
    const here = (issue: ErrorObject) =>
      issue.instancePath === union.instancePath || issue.instancePath.startsWith(`${union.instancePath}/`);
    for (const issue of issues) {
      if (!issue.schemaPath.startsWith(within) || !here(issue)) continue;
      const branch = issue.schemaPath.slice(within.length).split('/', 1)[0] as string;
      branches.set(branch, [...(branches.get(branch) ?? []), issue]);
    }
    const misfits = [...branches.values()].filter(
      ([only, ...more]) =>
        more.length === 0 &&
        only?.instancePath === union.instancePath &&
        (only.keyword === 'type' || only.keyword === 'const'),
    );
    for (const [misfit] of misfits) replaced.set(misfit as ErrorObject, undefined);
    const taken = misfits.map(([misfit]) => {
      const params = (misfit as ErrorObject).params as { type?: string; allowedValue?: unknown };
      return params.type?.replaceAll(',', ' or ') ?? JSON.stringify(params.allowedValue);
    });
    const explained = misfits.length === branches.size && taken.length > 0;
    replaced.set(union, explained ? { ...union, message: `must be ${taken.join(' or ')}` } : undefined);
  }
  return issues.flatMap((issue) => {
    if (!replaced.has(issue)) return [issue];
    const replacement = replaced.get(issue);
    return replacement === undefined ? [] : [replacement];
  });
}

/**
 * Ajv's coercion turns a query's `1e309` or `Infinity` into Infinity and then lets it pass even a
 * `maximum` (ajv 8.20): the coerced strings, params and headers are checked for non-finite numbers after it.
 */
export function refusingNonFinite(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown, context?: DataValidationCxt) => {
    if (!validate(data, context)) {
      wrapped.errors = validate.errors;
      return false;
    }
    for (const [name, value] of Object.entries((data ?? {}) as Record<string, unknown>)) {
      const values = Array.isArray(value) ? value : [value];
      const index = values.findIndex((item) => typeof item === 'number' && !Number.isFinite(item));
      if (index < 0) continue;
      const instancePath = `/${name}${Array.isArray(value) ? `/${index}` : ''}`;
      wrapped.errors = [
        { instancePath, schemaPath: '#', keyword: 'finite', params: {}, message: 'must be a finite number' },
      ];
      return false;
    }
    wrapped.errors = null;
    return true;
  }) as ValidateFunction;
  // Fastify hands ajv the parent object (so defaults can be set on the root) only when it sees schemaEnv.
  return Object.assign(wrapped, { schemaEnv: validate.schemaEnv, schema: validate.schema });
}
