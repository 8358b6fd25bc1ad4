// A PNG decoder for what clients send as images to embed: every colour type at 8 bits (and greyscale or
// palette at 1, 2, 4 and 16 bits), non-interlaced, reduced to 8-bit grey. Colour becomes luminance
// (ITU-R BT.601 weights); transparency is composited over black, the Fashion-MNIST background.
// Sizes are checked before inflating, so a small file cannot expand into a huge buffer.
import { inflateSync } from 'node:zlib';

export class PngError extends Error {
  override name = 'PngError';
}

export interface GreyImage {
  width: number;
  height: number;
  /** Row-major, one byte per pixel, 0 = black. */
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel of each colour type: grey, RGB, palette, grey+alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ALLOWED_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colourType: number;
}

function pngBytes(bytes: Uint8Array): Buffer {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < 8 || SIGNATURE.some((byte, i) => data[i] !== byte)) {
    throw new PngError('not a PNG file (bad signature)');
  }
  return data;
}

/**
 * Size and format from the IHDR chunk, which a PNG must start with, without inflating anything: what a
 * request's pixel budget is checked against before any image of it is decoded.
 */
export function readPngHeader(bytes: Uint8Array, maxSide: number): PngHeader {
  const data = pngBytes(bytes);
  if (data.length < 8 + 8 + 13 || data.readUInt32BE(8) !== 13 || data.toString('latin1', 12, 16) !== 'IHDR') {
    throw new PngError('PNG does not start with an IHDR chunk');
  }
  return readHeader(data.subarray(16, 29), maxSide);
}

/** Sides over `maxSide` are refused from the header, before any inflating. */
export function decodePng(bytes: Uint8Array, maxSide: number): GreyImage {
  const data = pngBytes(bytes);
  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  let paletteAlpha: Uint8Array | undefined;
  const compressed: Buffer[] = [];
  let offset = 8;
  for (;;) {
    if (offset + 8 > data.length) throw new PngError('truncated PNG: no IEND chunk');
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    if (body.length !== length || offset + 12 + length > data.length) {
      throw new PngError(`truncated PNG: chunk ${type} is cut short`);
    }
    offset += 12 + length; // CRCs are not checked: zlib's own checksum catches corrupt image data
    if (type === 'IHDR') {
      // One IHDR (PNG spec §11.2.2): a second one would decode an image of another size than the first
      // promised — 1×1 to the pixel budget and the choice of the event loop, then 1024×1024 16-bit RGBA.
      if (header !== undefined) throw new PngError('PNG has a second IHDR chunk');
      header = readHeader(body, maxSide);
    } else if (type === 'PLTE') palette = new Uint8Array(body);
    else if (type === 'tRNS') paletteAlpha = new Uint8Array(body);
    else if (type === 'IDAT') compressed.push(body);
    else if (type === 'IEND') break;
    if (header === undefined) throw new PngError('PNG does not start with an IHDR chunk');
  }
  if (header === undefined || compressed.length === 0) throw new PngError('PNG has no image data');
  if (header.colourType === 3 && palette === undefined)
    throw new PngError('palette PNG without a PLTE chunk');
  const channels = CHANNELS[header.colourType] as number;
  const stride = Math.ceil((header.width * channels * header.depth) / 8);
  const expected = (stride + 1) * header.height;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(compressed), { maxOutputLength: expected + 1 });
  } catch (error) {
    throw new PngError(`PNG image data does not inflate: ${(error as Error).message}`);
  }
  if (raw.length !== expected) {
    throw new PngError(`PNG image data has ${raw.length} bytes, expected ${expected}`);
  }
  const rows = unfilter(raw, stride, header.height, Math.max(1, (channels * header.depth) >> 3));
  return { width: header.width, height: header.height, pixels: toGrey(rows, header, palette, paletteAlpha) };
}

function readHeader(body: Buffer, maxSide: number): PngHeader {
  if (body.length !== 13) throw new PngError('IHDR chunk has the wrong length');
  const width = body.readUInt32BE(0);
  const height = body.readUInt32BE(4);
  const [depth, colourType, compression, filter, interlace] = [
    body[8],
    body[9],
    body[10],
    body[11],
    body[12],
  ];
  if (width === 0 || height === 0) throw new PngError('PNG has zero width or height');
  if (width > maxSide || height > maxSide) {
    throw new PngError(`PNG is ${width}×${height}; the largest side accepted is ${maxSide}`);
  }
  const depths = ALLOWED_DEPTHS[colourType as number];
  if (depths === undefined) throw new PngError(`PNG colour type ${colourType} is not valid`);
  if (!depths.includes(depth as number)) {
    throw new PngError(`PNG bit depth ${depth} is not valid for colour type ${colourType}`);
  }
  if (compression !== 0 || filter !== 0)
    throw new PngError('PNG uses an unknown compression or filter method');
  if (interlace !== 0)
    throw new PngError('interlaced (Adam7) PNGs are not supported; save it non-interlaced');
  return { width, height, depth: depth as number, colourType: colourType as number };
}

/**
 * Reverses the per-row filters (PNG spec §9); returns the rows without their filter bytes. One loop per
 * filter type, the first pixel's bytes (which have no left neighbour) apart: the per-byte branches of a
 * single loop cost more than inflating a 28×28 image.
 */
function unfilter(raw: Buffer, stride: number, height: number, bytesPerPixel: number): Uint8Array {
  const out = new Uint8Array(stride * height);
  const noRow = new Uint8Array(stride); // the row above the first
  const first = Math.min(bytesPerPixel, stride); // bytes of the first pixel: no left neighbour
  for (let y = 0; y < height; y++) {
    const filterType = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? out.subarray((y - 1) * stride, y * stride) : noRow;
    switch (filterType) {
      case 0:
        row.set(line);
        break;
      case 1:
        row.set(line.subarray(0, first));
        for (let x = first; x < stride; x++)
          row[x] = ((line[x] as number) + (row[x - bytesPerPixel] as number)) & 0xff;
        break;
      case 2:
        for (let x = 0; x < stride; x++) row[x] = ((line[x] as number) + (above[x] as number)) & 0xff;
        break;
      case 3:
        for (let x = 0; x < first; x++) row[x] = ((line[x] as number) + ((above[x] as number) >> 1)) & 0xff;
        for (let x = first; x < stride; x++) {
          const average = ((row[x - bytesPerPixel] as number) + (above[x] as number)) >> 1;
          row[x] = ((line[x] as number) + average) & 0xff;
        }
        break;
      case 4:
        // With no left neighbour, Paeth predicts the byte above.
        for (let x = 0; x < first; x++) row[x] = ((line[x] as number) + (above[x] as number)) & 0xff;
        for (let x = first; x < stride; x++) {
          const predicted = paeth(
            row[x - bytesPerPixel] as number,
            above[x] as number,
            above[x - bytesPerPixel] as number,
          );
          row[x] = ((line[x] as number) + predicted) & 0xff;
        }
        break;
      default:
        throw new PngError(`PNG row ${y} has unknown filter type ${filterType}`);
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

function toGrey(
  rows: Uint8Array,
  header: PngHeader,
  palette?: Uint8Array,
  paletteAlpha?: Uint8Array,
): Uint8Array {
  const { width, height, depth, colourType } = header;
  // 8-bit grey (Fashion-MNIST's format, and what our encoder writes): the unfiltered rows are the image.
  if (colourType === 0 && depth === 8) return rows;
  const channels = CHANNELS[colourType] as number;
  const stride = Math.ceil((width * channels * depth) / 8);
  const grey = new Uint8Array(width * height);
  const maxSample = (1 << Math.min(depth, 8)) - 1;
  // One sample as 0…255 (16-bit samples keep their high byte); palette indices stay raw.
  const sample = (y: number, index: number): number => {
    if (depth === 16) return rows[y * stride + index * 2] as number;
    if (depth === 8) return rows[y * stride + index] as number;
    const bit = index * depth;
    const byte = rows[y * stride + (bit >> 3)] as number;
    const value = (byte >> (8 - depth - (bit & 7))) & maxSample;
    return colourType === 3 ? value : Math.round((value * 255) / maxSample);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = x * channels;
      let luminance: number;
      let alpha = 255;
      if (colourType === 0) luminance = sample(y, base);
      else if (colourType === 4) {
        luminance = sample(y, base);
        alpha = sample(y, base + 1);
      } else if (colourType === 3) {
        const index = sample(y, base);
        if (palette === undefined || index * 3 + 2 >= palette.length) {
          throw new PngError(`PNG palette index ${index} is outside the palette`);
        }
        luminance = bt601(
          palette[index * 3] as number,
          palette[index * 3 + 1] as number,
          palette[index * 3 + 2] as number,
        );
        alpha = paletteAlpha?.[index] ?? 255;
      } else {
        luminance = bt601(sample(y, base), sample(y, base + 1), sample(y, base + 2));
        if (colourType === 6) alpha = sample(y, base + 3);
      }
      grey[y * width + x] = Math.round((luminance * alpha) / 255);
    }
  }
  return grey;
}

function bt601(red: number, green: number, blue: number): number {
  return 0.299 * red + 0.587 * green + 0.114 * blue;
}
