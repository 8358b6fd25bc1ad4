// A small container for JSON metadata plus binary arrays: an 8-byte magic, the header length (uint32 LE),
// the header JSON (the caller's fields plus `sections`, the byte length of each section), then the sections.
// Used for collection files and for the points a collections.index job hands back.

export interface Framed<H> {
  header: H;
  sections: Buffer[];
}

export function encodeFramed(magic: string, header: object, sections: Uint8Array[]): Buffer {
  const json = Buffer.from(
    JSON.stringify({ ...header, sections: sections.map((s) => s.byteLength) }),
    'utf8',
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  // Buffer.concat copies, so the sections' buffers may change as soon as this returns.
  return Buffer.concat([Buffer.from(magic, 'latin1'), length, json, ...sections]);
}

export function decodeFramed<H>(bytes: Uint8Array, magic: string, source: string): Framed<H> {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = magic.length + 4;
  if (data.length < start || data.toString('latin1', 0, magic.length) !== magic) {
    throw new Error(`${source}: not a ${magic.trim()} file`);
  }
  const headerLength = data.readUInt32LE(magic.length);
  const parsed = JSON.parse(data.toString('utf8', start, start + headerLength)) as H & { sections: number[] };
  const { sections: lengths, ...header } = parsed;
  let offset = start + headerLength;
  const sections = lengths.map((length) => {
    const section = data.subarray(offset, offset + length);
    offset += length;
    return section;
  });
  if (offset !== data.length)
    throw new Error(`${source}: ${data.length} bytes, the header describes ${offset}`);
  return { header: header as H, sections };
}

/** A section as float32 values, copied so the view is aligned. */
export function float32Section(section: Buffer): Float32Array {
  if (section.length % 4 !== 0) throw new Error('float32 section length is not a multiple of 4');
  const values = new Float32Array(section.length / 4);
  new Uint8Array(values.buffer).set(section);
  return values;
}
