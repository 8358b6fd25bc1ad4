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

/** The service's ajv, listing every error or stopping at the first; input it is sent goes through inputCompiler. */
export function makeAjv(coerceTypes: boolean, allErrors = true): Ajv {
  const ajv = new Ajv({ ...COMMON, allErrors, coerceTypes: coerceTypes ? 'array' : false });
  addFormats.default(ajv);
  return ajv;
}

/**
 * Listing every error costs ajv and fieldErrors some microseconds an error, and a hostile body has an error
 * in nearly every value: a 1.3 MB batch search of 256 000 null filter values held the event loop for 6 s
 * while all were listed, and a 32 MB inference body would hold it for minutes and gigabytes. Input of at
 * most this many values (array items and object members, nested) is checked for every error — at most ~25 ms
 * for one failing in every value —, larger input only up to its first.
 */
export const FULLY_CHECKED_VALUES = 1024;

/**
 * Compiles validators for input the service is sent: each checks first with a validator that stops at the
 * first error — what a valid body costs is one pass, as before — and checks a failing input again for every
 * error when it has at most FULLY_CHECKED_VALUES values. Above that, the first error is reported with a last
 * one (keyword `checkStopped`) saying that checking stopped there.
 */
export function inputCompiler(coerceTypes: boolean): (schema: object) => ValidateFunction {
  const first = makeAjv(coerceTypes, false);
  const every = makeAjv(coerceTypes, true);
  return (schema) => {
    const firstError = first.compile(schema);
    let everyError: ValidateFunction | undefined;
    const validate = ((data: unknown, context?: DataValidationCxt) => {
      if (firstError(data, context)) {
        validate.errors = null;
        return true;
      }
      if (!valuesAtMost(data, FULLY_CHECKED_VALUES)) {
        validate.errors = [...(firstError.errors ?? []), CHECK_STOPPED];
        return false;
      }
      // Compiled at the first small failing input: most schemas never see one, and compiling costs the start.
      everyError ??= every.compile(schema);
      everyError(data, context);
      validate.errors = everyError.errors;
      return false;
    }) as ValidateFunction;
    // Fastify hands ajv the parent object (so defaults can be set on the root) only when it sees schemaEnv.
    return Object.assign(validate, { schemaEnv: firstError.schemaEnv, schema: firstError.schema });
  };
}

const CHECK_STOPPED: ErrorObject = {
  instancePath: '',
  schemaPath: '#',
  keyword: 'checkStopped',
  params: { limit: FULLY_CHECKED_VALUES },
  message: `not checked past the error before: input of more than ${FULLY_CHECKED_VALUES} values is checked only up to its first error`,
};

/** Whether data holds at most `limit` values, counted without walking past the limit. */
function valuesAtMost(data: unknown, limit: number): boolean {
  let count = 0;
  const pending: unknown[] = [data];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) {
      count += value.length;
      if (count > limit) return false;
      pending.push(...value);
    } else if (value !== null && typeof value === 'object') {
      // for…in, not Object.values: an object of a million members is not copied to be counted.
      for (const key in value) {
        if (++count > limit) return false;
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
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
  // By position: a hostile body's errors run to hundreds of thousands, and sets of them cost more than this.
  const dropped = new Uint8Array(issues.length);
  // What each explained union takes ("string or number"), by the position of its error.
  const takes: Array<string | undefined> = [];
  // Innermost first: a nested union that no form fits is a misfit of the union around it.
  for (const { at, branches } of failedUnions(issues).reverse()) {
    const union = issues[at] as ErrorObject;
    dropped[at] = 1;
    // A misfit: the branch's one error says only that the value is not of its type or value.
    // Met from the end: reversed, the branches are in the schema's order.
    const misfits = [...branches.values()].reverse().filter(({ first, count }) => {
      const only = issues[first] as ErrorObject;
      return (
        count === 1 &&
        only.instancePath === union.instancePath &&
        (only.keyword === 'type' || only.keyword === 'const' || takes[first] !== undefined)
      );
    });
    const taken = misfits.map(({ first }) => {
      const params = (issues[first] as ErrorObject).params as { type?: string; allowedValue?: unknown };
      return takes[first] ?? params.type?.replaceAll(',', ' or ') ?? JSON.stringify(params.allowedValue);
    });
    for (const { first } of misfits) {
      dropped[first] = 1;
      takes[first] = undefined;
    }
    if (misfits.length > 0 && misfits.length === branches.size) takes[at] = taken.join(' or ');
  }
  const kept: ErrorObject[] = [];
  for (const [at, issue] of issues.entries()) {
    const taken = takes[at];
    if (taken !== undefined) kept.push({ ...issue, message: `must be ${taken}` });
    else if (dropped[at] !== 1) kept.push(issue);
  }
  return kept;
}

interface FailedUnion {
  /** The union's own error, by position. */
  at: number;
  /** Each branch's (by its index) own errors, and those of unions nested in it: the first's position, and how many. */
  branches: Map<string, { first: number; count: number }>;
}

/**
 * Each failed union with its branches' errors. Ajv reports a union's branch errors in one run just before
 * the union's own error, a nested union's run inside it, so one pass from the end keeps the unions open
 * around each error, and an error counts for the innermost only: whether a branch holds one error or more
 * is all the outer needs, and a nested union's own error already says so. A hostile body can carry hundreds
 * of thousands of such errors (a union in a list fails once per item): matching every union against every
 * error took 23 s for 4 000 of them.
 */
function failedUnions(issues: ErrorObject[]): FailedUnion[] {
  const failed: FailedUnion[] = [];
  const open: Array<FailedUnion & { place: string; within: string; below: string }> = [];
  for (let at = issues.length - 1; at >= 0; at--) {
    const issue = issues[at] as ErrorObject;
    let inner = open.at(-1);
    while (
      inner !== undefined &&
      !(
        issue.schemaPath.startsWith(inner.within) &&
        (issue.instancePath === inner.place || issue.instancePath.startsWith(inner.below))
      )
    ) {
      open.pop();
      inner = open.at(-1);
    }
    if (inner !== undefined) {
      const end = issue.schemaPath.indexOf('/', inner.within.length);
      const branch = issue.schemaPath.slice(inner.within.length, end === -1 ? undefined : end);
      const seen = inner.branches.get(branch);
      // Read backwards: the last one met is the branch's first.
      if (seen === undefined) inner.branches.set(branch, { first: at, count: 1 });
      else {
        seen.first = at;
        seen.count++;
      }
    }
    if (issue.keyword === 'anyOf') {
      const union = { at, branches: new Map<string, { first: number; count: number }>() };
      failed.push(union);
      const place = issue.instancePath;
      open.push({ ...union, place, within: `${issue.schemaPath}/`, below: `${place}/` });
    }
  }
  return failed;
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
