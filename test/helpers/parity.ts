// The parity vectors written by training/build_test_models.py: inputs and the outputs numpy computed.
import { readFileSync } from 'node:fs';
import { MODELS_DIR } from './app.js';

export interface ParityTensor {
  datatype: string;
  shape: number[];
  data: number[];
}

export interface Parity {
  inputs: Record<string, ParityTensor>;
  outputs: Record<string, ParityTensor>;
  tolerance: number;
}

export function readParity(model: string): Parity {
  return JSON.parse(readFileSync(`${MODELS_DIR}${model}/parity.json`, 'utf8')) as Parity;
}

export function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  return a.reduce((worst, value, index) => Math.max(worst, Math.abs(value - (b[index] as number))), 0);
}
