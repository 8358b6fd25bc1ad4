// IDX files (the MNIST / Fashion-MNIST format), gzipped as Debian ships them: a big-endian magic number
// (0x0000 08 NN: unsigned bytes, NN dimensions), the dimension sizes, then the data.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export async function readIdxGz(path: string): Promise<IdxArray> {
  const raw = gunzipSync(await readFile(path));
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) {
    throw new Error(`${path}: not an unsigned-byte IDX file`);
  }
  const dims = raw[3] as number;
  const shape = Array.from({ length: dims }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * dims;
  const count = shape.reduce((product, size) => product * size, 1);
  if (raw.length !== offset + count)
    throw new Error(`${path}: ${raw.length - offset} data bytes, expected ${count}`);
  return { shape, data: new Uint8Array(raw.buffer, raw.byteOffset + offset, count) };
}
