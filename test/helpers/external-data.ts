// The graphs of test/fixtures/external-data (training/build_external_data_models.py): each has one tensor
// whose bytes are said to be in package.json, placed where ONNX allows one.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXTERNAL_DATA_DIR = fileURLToPath(new URL('../fixtures/external-data', import.meta.url));

/** Fixture names, each with the tensor it holds in another file. */
export const EXTERNAL_DATA_TENSORS: Record<string, string> = {
  initializer: 'w',
  'constant-in-subgraph': 'then_value',
  'sparse-initializer': 'sparse_values',
  function: 'function_value',
  'training-info': 'initial',
};

export const EXTERNAL_DATA_FIXTURES = Object.keys(EXTERNAL_DATA_TENSORS);

export const externalDataFixture = (name: string) => join(EXTERNAL_DATA_DIR, `${name}.onnx`);
