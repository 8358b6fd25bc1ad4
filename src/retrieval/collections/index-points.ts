// The points a collections.index job hands back as its artifact (framed-binary "MSPTS2", checksummed): ids and payloads
// in the header, float32 vectors (n × dim) as the one section. The API applies them to the collection.
import { decodeFramed, encodeFramed, float32Section } from '../../lib/framed-binary.js';
import type { Payload } from './payload-filter.js';

const MAGIC = 'MSPTS2\n\n';
export const INDEX_POINTS_ARTIFACT = 'points.bin';

export interface IndexPoints {
  dim: number;
  ids: string[];
  payloads: Payload[];
  vectors: Float32Array;
}

export function encodeIndexPoints(points: IndexPoints): Buffer {
  const { vectors, ...header } = points;
  return encodeFramed(MAGIC, header, [
    new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength),
  ]);
}

export function decodeIndexPoints(bytes: Uint8Array, source: string): IndexPoints {
  const { header, sections } = decodeFramed<Omit<IndexPoints, 'vectors'>>(bytes, MAGIC, source);
  const vectors = float32Section(sections[0] ?? Buffer.alloc(0));
  if (vectors.length !== header.ids.length * header.dim || header.payloads.length !== header.ids.length) {
    throw new Error(`${source}: ${header.ids.length} ids do not match the vectors or payloads`);
  }
  return { ...header, vectors };
}
