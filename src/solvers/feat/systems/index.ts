// The catalog of free-energy systems: params schemas (a tagged union on `name`), the checks the schema
// cannot express, and the constructor of each pair.
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../../errors.js';
import { TaggedUnion } from '../../../lib/tagged-union.js';
import { createDw4System, Dw4SystemSchema } from './dw4.js';
import type { SystemPair } from './end-state.js';
import { createGaussianSystem, GaussianSystemSchema, gaussianSystemErrors } from './gaussian.js';
import { createGmmSystem, GmmSystemSchema, resolveGmm } from './gmm.js';
import { createManyWellSystem, ManyWellSystemSchema, manyWellErrors } from './many-well.js';
import { createMixtureSystem, MixtureSystemSchema, mixtureSystemErrors } from './mixture.js';
import {
  createPhi4Free,
  createPhi4Umbrella,
  Phi4FreeSchema,
  Phi4UmbrellaSchema,
  resolvePhi4Umbrella,
} from './phi4.js';

export const SystemSchema = TaggedUnion(
  'name',
  [
    GaussianSystemSchema,
    GmmSystemSchema,
    MixtureSystemSchema,
    ManyWellSystemSchema,
    Dw4SystemSchema,
    Phi4UmbrellaSchema,
    Phi4FreeSchema,
  ],
  { description: 'The pair of end states (a, b); ΔF = F_b − F_a.' },
);
export type SystemParams = Static<typeof SystemSchema>;

export function systemErrors(system: SystemParams, path: string): FieldError[] {
  if (system.name === 'gaussian') return gaussianSystemErrors(system, path);
  if (system.name === 'many_well') return manyWellErrors(system, path);
  if (system.name === 'mixture') return mixtureSystemErrors(system, path);
  return [];
}

export function createSystem(system: SystemParams): SystemPair {
  switch (system.name) {
    case 'gaussian':
      return createGaussianSystem(system);
    case 'gmm':
      return createGmmSystem(system);
    case 'mixture':
      return createMixtureSystem(system);
    case 'many_well':
      return createManyWellSystem(system);
    case 'dw4':
      return createDw4System(system);
    case 'phi4_umbrella':
      return createPhi4Umbrella(system);
    case 'phi4_free':
      return createPhi4Free(system);
  }
}

/** The system params with defaults filled in, for the systems a learned transport can be trained on. */
export function resolvedSystem(system: SystemParams): unknown {
  if (system.name === 'gmm') return resolveGmm(system);
  if (system.name === 'phi4_umbrella') return resolvePhi4Umbrella(system);
  return system;
}
