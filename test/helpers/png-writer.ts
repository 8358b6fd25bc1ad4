// A PNG writer for decoder tests: any colour type and bit depth, each row with the filter asked for
// (filters applied here by the PNG specification's definitions, independently of the decoder; chunks
// framed by the encoder's pngChunk).
import { deflateSync } from 'node:zlib';
import { encodeGreyPng, pngChunk } from '../../src/lib/png-encode.js';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export interface PngSpec {
  width: number;
  height: number;
  colourType: 0 | 2 | 3 | 4 | 6;
  depth?: number;
  /** Samples row-major, one number per channel sample (already at the bit depth). */
  samples: number[];
  /** Filter per row (0–4), cycling; default all 0. */
  filters?: number[];
  palette?: number[];
  paletteAlpha?: number[];
  interlace?: boolean;
}

export function writePng(spec: PngSpec): Buffer {
  const depth = spec.depth ?? 8;
  const channels = CHANNELS[spec.colourType] as number;
  const stride = Math.ceil((spec.width * channels * depth) / 8);
  const bpp = Math.max(1, (channels * depth) >> 3);
  const rows: Uint8Array[] = [];
  for (let y = 0; y < spec.height; y++) {
    const row = new Uint8Array(stride);
    for (let i = 0; i < spec.width * channels; i++) {
      const value = spec.samples[y * spec.width * channels + i] as number;
      if (depth === 16) {
        row[i * 2] = value >> 8;
        row[i * 2 + 1] = value & 0xff;
      } else if (depth === 8) row[i] = value;
      else {
        const bit = i * depth;
        row[bit >> 3] = (row[bit >> 3] as number) | (value << (8 - depth - (bit & 7)));
      }
    }
    rows.push(row);
  }
  const filtered: number[] = [];
  rows.forEach((row, y) => {
    const filter = spec.filters?.[y % spec.filters.length] ?? 0;
    filtered.push(filter);
    const previous = y > 0 ? (rows[y - 1] as Uint8Array) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const left = x >= bpp ? (row[x - bpp] as number) : 0;
      const up = previous[x] as number;
      const upLeft = x >= bpp ? (previous[x - bpp] as number) : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter] as number;
      filtered.push(((row[x] as number) - predictor) & 0xff);
    }
  });
  const header = Buffer.alloc(13);
  header.writeUInt32BE(spec.width, 0);
  header.writeUInt32BE(spec.height, 4);
  header[8] = depth;
  header[9] = spec.colourType;
  header[12] = spec.interlace ? 1 : 0;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', header)];
  if (spec.palette) parts.push(pngChunk('PLTE', Uint8Array.from(spec.palette)));
  if (spec.paletteAlpha) parts.push(pngChunk('tRNS', Uint8Array.from(spec.paletteAlpha)));
  parts.push(pngChunk('IDAT', deflateSync(Uint8Array.from(filtered))), pngChunk('IEND', new Uint8Array()));
  return Buffer.concat(parts);
}

/** A 28×28 uint8 image as the base64 PNG a client would send. */
export function pngBase64(pixels: Uint8Array, width = 28, height = 28): string {
  return encodeGreyPng(pixels, width, height).toString('base64');
}
