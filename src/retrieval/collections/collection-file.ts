// One file per collection (checksummed framed-binary "MSCOLL2"): the header is the snapshot (configuration,
// slot ids and payloads, applied index jobs); the sections are one CRC-32 per slot (over its id, payload and
// vector), the slots' float32 vectors and, for HNSW, the graph. Every section's SHA-256 is verified before a
// byte of it reaches hnswlib; the per-slot checksums say which points of a damaged file are intact.
// Written with writeFileAtomically (src/lib/atomic-file.ts), so a crash leaves either the previous or the
// new collection, never a mix. Files of the first, unchecked layout ("MSCOLL1") are read
// with their graph rebuilt from the vectors, and rewritten in the checked layout.
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import {
  DamagedFileError,
  decodeFramed,
  decodeUncheckedFramed,
  encodeFramed,
  float32Section,
  inspectFramed,
} from '../../lib/framed-binary.js';
import type { CollectionSnapshot } from './collection.js';

const MAGIC = 'MSCOLL2\n';
const UNCHECKED_MAGIC = 'MSCOLL1\n';
export const COLLECTION_FILE_SUFFIX = '.collection';

export interface DecodedCollection {
  snapshot: CollectionSnapshot;
  vectors: Float32Array;
  index?: Uint8Array;
  /** Read from the unchecked first layout: to be rewritten with checksums. */
  unchecked?: boolean;
}

/** The points of a damaged file that passed their checksums, and how many did not. */
export interface SalvagedCollection {
  collection: DecodedCollection;
  lost: number;
}

function slotChecksum(slot: [string | null, unknown], vector: Uint8Array): number {
  return crc32(vector, crc32(JSON.stringify(slot)));
}

function slotChecksums(snapshot: CollectionSnapshot, vectors: Uint8Array): Uint8Array {
  const dimBytes = snapshot.config.dim * 4;
  const checksums = new Uint32Array(snapshot.slots.length);
  snapshot.slots.forEach((slot, index) => {
    checksums[index] = slotChecksum(slot, vectors.subarray(index * dimBytes, (index + 1) * dimBytes));
  });
  return new Uint8Array(checksums.buffer);
}

export function encodeCollection(
  snapshot: CollectionSnapshot,
  vectors: Uint8Array,
  index?: Uint8Array,
): Buffer {
  const checksums = slotChecksums(snapshot, vectors);
  return encodeFramed(
    MAGIC,
    snapshot,
    index === undefined ? [checksums, vectors] : [checksums, vectors, index],
  );
}

function checkVectors(header: CollectionSnapshot, vectorBytes: Buffer | undefined, source: string): void {
  if (vectorBytes === undefined || vectorBytes.length !== header.slots.length * header.config.dim * 4) {
    throw new DamagedFileError(source, [`vector section does not match ${header.slots.length} slots`]);
  }
}

/** An intact collection file; a DamagedFileError naming what is wrong otherwise. */
export function decodeCollection(bytes: Buffer, source: string): DecodedCollection {
  if (bytes.subarray(0, UNCHECKED_MAGIC.length).toString('latin1') === UNCHECKED_MAGIC) {
    const { header, sections } = decodeUncheckedFramed<CollectionSnapshot>(bytes, UNCHECKED_MAGIC, source);
    checkVectors(header, sections[0], source);
    // An unverifiable graph never reaches hnswlib: the index is rebuilt from the vectors.
    return { snapshot: header, vectors: float32Section(sections[0] as Buffer), unchecked: true };
  }
  const { header, sections } = decodeFramed<CollectionSnapshot>(bytes, MAGIC, source);
  const [, vectorBytes, indexBytes] = sections;
  checkVectors(header, vectorBytes, source);
  return {
    snapshot: header,
    vectors: float32Section(vectorBytes as Buffer),
    ...(indexBytes === undefined ? {} : { index: new Uint8Array(indexBytes) }),
  };
}

/** A header whose configuration a collection can be rebuilt from (a damaged one may parse yet be nonsense). */
function readableHeader(header: CollectionSnapshot | undefined): header is CollectionSnapshot {
  const config = header?.config;
  return (
    config !== undefined &&
    typeof config.name === 'string' &&
    Number.isSafeInteger(config.dim) &&
    config.dim > 0 &&
    ['cosine', 'dot', 'l2'].includes(config.metric) &&
    ['hnsw', 'flat'].includes(config.index?.type) &&
    Array.isArray(header?.slots) &&
    Array.isArray(header?.applied_jobs)
  );
}

/**
 * What can be saved of a damaged file: the points whose id, payload and vector match their checksum, with
 * no graph (it is rebuilt). Needs a readable header; a DamagedFileError when there is nothing to salvage.
 */
export function salvageCollection(bytes: Buffer, source: string): SalvagedCollection {
  const inspected = inspectFramed<CollectionSnapshot>(bytes, MAGIC);
  const header = inspected.header;
  if (!readableHeader(header)) {
    throw new DamagedFileError(source, [
      'the header cannot be read: nothing to recover',
      ...inspected.damage,
    ]);
  }
  const [checksumSection, vectorSection] = inspected.sections;
  const checksums = checksumSection?.data ?? Buffer.alloc(0);
  const vectorBytes = vectorSection?.data ?? Buffer.alloc(0);
  const dimBytes = header.config.dim * 4;
  const slots: CollectionSnapshot['slots'] = [];
  const kept: Buffer[] = [];
  let lost = 0;
  header.slots.forEach((slot, index) => {
    if (Array.isArray(slot) && slot[0] === null) return;
    const vector = vectorBytes.subarray(index * dimBytes, (index + 1) * dimBytes);
    const intact =
      Array.isArray(slot) &&
      typeof slot[0] === 'string' &&
      (index + 1) * 4 <= checksums.length &&
      vector.length === dimBytes &&
      checksums.readUInt32LE(index * 4) === slotChecksum(slot, vector);
    if (!intact) {
      lost++;
      return;
    }
    slots.push(slot);
    kept.push(vector);
  });
  return {
    collection: { snapshot: { ...header, slots }, vectors: float32Section(Buffer.concat(kept)) },
    lost,
  };
}

export async function readCollectionFile(path: string): Promise<DecodedCollection> {
  return decodeCollection(await readFile(path), path);
}
