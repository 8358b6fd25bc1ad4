// One file per collection (framed-binary "MSCOLL1"): the header is the snapshot (configuration, slot ids
// and payloads, applied index jobs); the sections are the slots' float32 vectors and, for HNSW, the graph.
// Written whole to a temporary file, flushed, then renamed over the old one, so a crash leaves either the
// previous or the new collection, never a mix.
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { decodeFramed, encodeFramed, float32Section } from '../../lib/framed-binary.js';
import type { CollectionSnapshot } from './collection.js';

const MAGIC = 'MSCOLL1\n';
export const COLLECTION_FILE_SUFFIX = '.collection';

export interface DecodedCollection {
  snapshot: CollectionSnapshot;
  vectors: Float32Array;
  index?: Uint8Array;
}

export function encodeCollection(
  snapshot: CollectionSnapshot,
  vectors: Uint8Array,
  index?: Uint8Array,
): Buffer {
  return encodeFramed(MAGIC, snapshot, index === undefined ? [vectors] : [vectors, index]);
}

export function decodeCollection(bytes: Buffer, source: string): DecodedCollection {
  const { header, sections } = decodeFramed<CollectionSnapshot>(bytes, MAGIC, source);
  const [vectorBytes, indexBytes] = sections;
  if (vectorBytes === undefined || vectorBytes.length !== header.slots.length * header.config.dim * 4) {
    throw new Error(`${source}: vector section does not match ${header.slots.length} slots`);
  }
  return {
    snapshot: header,
    vectors: float32Section(vectorBytes),
    ...(indexBytes === undefined ? {} : { index: new Uint8Array(indexBytes) }),
  };
}

export async function writeFileAtomically(path: string, data: Buffer): Promise<void> {
  const temporary = `${path}.tmp-${randomUUID()}`;
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function readCollectionFile(path: string): Promise<DecodedCollection> {
  return decodeCollection(await readFile(path), path);
}
