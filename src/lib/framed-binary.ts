// A small checksummed container for JSON metadata plus binary arrays, used for collection files and for the
// points a collections.index job hands back:
//   magic (8 bytes) · header length (uint32 LE) · SHA-256 of the header (32 bytes) · header JSON · sections
// The header holds the caller's fields plus `sections`: each section's byte length and SHA-256. Strict
// decoding verifies every digest before a byte is handed on; inspection reports which parts are intact, so
// that what survived a damaged file can be recovered.
import { createHash } from 'node:crypto';

const LENGTH_BYTES = 4;
const DIGEST_BYTES = 32;

/** A file whose bytes are not what was written: truncated, overwritten or flipped. */
export class DamagedFileError extends Error {
  override name = 'DamagedFileError';
  constructor(
    readonly source: string,
    readonly damage: string[],
  ) {
    super(`${source}: ${damage.join('; ')}`);
  }
}

export interface Framed<H> {
  header: H;
  sections: Buffer[];
}

export interface InspectedSection {
  /** The section's bytes as far as the file holds them. */
  data: Buffer;
  /** Whole and matching its digest. */
  intact: boolean;
}

export interface InspectedFramed<H> {
  /** The header, if its JSON could be read at all (intact or not). */
  header: H | undefined;
  headerIntact: boolean;
  sections: InspectedSection[];
  /** What is wrong, one entry per damaged part; empty for an intact file. */
  damage: string[];
}

interface SectionEntry {
  bytes: number;
  sha256: string;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

export function encodeFramed(magic: string, header: object, sections: Uint8Array[]): Buffer {
  const entries: SectionEntry[] = sections.map((section) => ({
    bytes: section.byteLength,
    sha256: sha256(section).toString('hex'),
  }));
  const json = Buffer.from(JSON.stringify({ ...header, sections: entries }), 'utf8');
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32LE(json.length, 0);
  // Buffer.concat copies, so the sections' buffers may change as soon as this returns.
  return Buffer.concat([Buffer.from(magic, 'latin1'), length, sha256(json), json, ...sections]);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads what can be read and says what is damaged; throws nothing for damage. */
export function inspectFramed<H>(bytes: Uint8Array, magic: string): InspectedFramed<H> {
  const data = asBuffer(bytes);
  const damaged = (damage: string): InspectedFramed<H> => ({
    header: undefined,
    headerIntact: false,
    sections: [],
    damage: [damage],
  });
  const start = magic.length + LENGTH_BYTES + DIGEST_BYTES;
  if (data.length < start) return damaged(`${data.length} bytes, shorter than the ${start}-byte preamble`);
  if (data.toString('latin1', 0, magic.length) !== magic) return damaged(`not a ${magic.trim()} file`);
  const headerLength = data.readUInt32LE(magic.length);
  const headerEnd = start + headerLength;
  if (headerEnd > data.length)
    return damaged(`header of ${headerLength} bytes runs past the end of the file`);
  const json = data.subarray(start, headerEnd);
  const damage: string[] = [];
  const headerIntact = sha256(json).equals(data.subarray(start - DIGEST_BYTES, start));
  if (!headerIntact) damage.push('header does not match its checksum');
  let parsed: (H & { sections: SectionEntry[] }) | undefined;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return {
      header: undefined,
      headerIntact: false,
      sections: [],
      damage: [...damage, 'header is not JSON'],
    };
  }
  const { sections: entries, ...header } = parsed as H & { sections: SectionEntry[] };
  if (!Array.isArray(entries))
    return { header: header as H, headerIntact, sections: [], damage: [...damage, 'no section list'] };
  let offset = headerEnd;
  const sections = entries.map((entry, index) => {
    const section = data.subarray(offset, offset + entry.bytes);
    offset += entry.bytes;
    let intact = section.length === entry.bytes;
    if (!intact) damage.push(`section ${index} is truncated (${section.length} of ${entry.bytes} bytes)`);
    else if (sha256(section).toString('hex') !== entry.sha256) {
      intact = false;
      damage.push(`section ${index} does not match its checksum`);
    }
    return { data: section, intact };
  });
  if (offset < data.length) damage.push(`${data.length - offset} bytes after the last section`);
  return { header: header as H, headerIntact, sections, damage };
}

/** The header and sections of an intact file; a DamagedFileError naming every damaged part otherwise. */
export function decodeFramed<H>(bytes: Uint8Array, magic: string, source: string): Framed<H> {
  const inspected = inspectFramed<H>(bytes, magic);
  if (inspected.damage.length > 0) throw new DamagedFileError(source, inspected.damage);
  return { header: inspected.header as H, sections: inspected.sections.map((section) => section.data) };
}

/**
 * The first layout, without digests (magic · header length · header JSON · sections): read only to carry
 * collection files written before checksums over to the checked layout. Its sections cannot be verified.
 */
export function decodeUncheckedFramed<H>(bytes: Uint8Array, magic: string, source: string): Framed<H> {
  const data = asBuffer(bytes);
  const start = magic.length + LENGTH_BYTES;
  if (data.length < start || data.toString('latin1', 0, magic.length) !== magic) {
    throw new DamagedFileError(source, [`not a ${magic.trim()} file`]);
  }
  const headerLength = data.readUInt32LE(magic.length);
  let parsed: H & { sections: number[] };
  try {
    parsed = JSON.parse(data.toString('utf8', start, start + headerLength));
  } catch {
    throw new DamagedFileError(source, ['header is not JSON']);
  }
  const { sections: lengths, ...header } = parsed;
  if (!Array.isArray(lengths)) throw new DamagedFileError(source, ['no section list']);
  let offset = start + headerLength;
  const sections = lengths.map((length) => {
    const section = data.subarray(offset, offset + length);
    offset += length;
    return section;
  });
  if (offset !== data.length) {
    throw new DamagedFileError(source, [`${data.length} bytes, the header describes ${offset}`]);
  }
  return { header: header as H, sections };
}

/** A section as float32 values, copied so the view is aligned; a partial last value is dropped. */
export function float32Section(section: Buffer): Float32Array {
  const values = new Float32Array(Math.floor(section.length / 4));
  new Uint8Array(values.buffer).set(section.subarray(0, values.length * 4));
  return values;
}
