// A minimal PNG encoder for 8-bit greyscale images (what the image generators produce), and a grid
// compositor for contact sheets. Compression by node:zlib; CRC-32 per the PNG specification.
import { deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes `pixels` (row-major, one byte per pixel, 0 = black) as a greyscale PNG. */
export function encodeGreyPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height)
    throw new Error(`expected ${width * height} pixels, got ${pixels.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: greyscale
  // Each scanline starts with filter type 0 (none).
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([
    SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Intensities in [0, 1] → bytes, clamped and rounded. */
export function toBytes(intensities: Float32Array): Uint8Array {
  const out = new Uint8Array(intensities.length);
  for (let i = 0; i < intensities.length; i++) {
    out[i] = Math.round(Math.min(1, Math.max(0, intensities[i] as number)) * 255);
  }
  return out;
}

/** Lays `count` square tiles of `size`×`size` bytes out in rows of `columns`, with a 1-pixel gap. */
export function tileGrid(tiles: Uint8Array, count: number, size: number, columns: number) {
  const rows = Math.ceil(count / columns);
  const width = columns * (size + 1) + 1;
  const height = rows * (size + 1) + 1;
  const pixels = new Uint8Array(width * height);
  for (let index = 0; index < count; index++) {
    const left = 1 + (index % columns) * (size + 1);
    const top = 1 + Math.floor(index / columns) * (size + 1);
    for (let y = 0; y < size; y++) {
      const from = index * size * size + y * size;
      pixels.set(tiles.subarray(from, from + size), (top + y) * width + left);
    }
  }
  return { pixels, width, height };
}
