// Fashion-MNIST images for bulk indexing: the full test or training split from Debian's
// dataset-fashion-mnist package, or the demo subset committed under models/datasets/ (the first 2 000
// test images, so demo ids and payloads equal the full test split's).
import { join } from 'node:path';
import { readIdxGz } from '../../lib/idx.js';
import { IMAGE_SIDE } from '../../schemas/common.js';
import { IMAGE_PIXELS, resizeToModel } from './resize.js';

export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export type FashionMnistSplit = 'train' | 'test' | 'demo';

const FILES: Record<FashionMnistSplit, [string, string]> = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
  demo: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
};

export const DEMO_DIR = join('datasets', 'fashion-mnist-demo');

export interface LabelledImages {
  /** uint8, n × 784 */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** `directory` is the Debian dataset's, or for the demo split the models directory. */
export async function readFashionMnist(directory: string, split: FashionMnistSplit): Promise<LabelledImages> {
  const base = split === 'demo' ? join(directory, DEMO_DIR) : directory;
  const [imageFile, labelFile] = FILES[split];
  const images = await readIdxGz(join(base, imageFile));
  const labels = await readIdxGz(join(base, labelFile));
  const count = images.shape[0] as number;
  if (images.shape.join() !== `${count},28,28` || labels.shape.join() !== `${count}`) {
    throw new Error(
      `${base}: images ${images.shape.join('×')} and labels ${labels.shape.join('×')} do not pair`,
    );
  }
  return { pixels: images.data, labels: labels.data, count };
}

/** One image as model input: intensities in [0, 1]. */
export function imageAt(images: LabelledImages, index: number): Float32Array {
  const pixels = images.pixels.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS);
  return resizeToModel({ width: IMAGE_SIDE, height: IMAGE_SIDE, pixels });
}
