// The seeded generator, the PNG encoder and the .npy writer, checked against independent readings:
// statistics of the normals, a PNG decoded back by hand (chunks, CRC, zlib), a .npy header as numpy writes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeNpy } from '../src/lib/npy.js';
import { encodeGreyPng, tileGrid } from '../src/lib/png-encode.js';
import { Random } from '../src/lib/random.js';
import { decodeGreyPng } from './helpers/png.js';

describe('seeded random generator', () => {
  it('repeats its stream for a seed and differs across seeds', () => {
    const a = new Random(42).normals(1000);
    assert.deepEqual(new Random(42).normals(1000), a);
    assert.notDeepEqual(new Random(43).normals(1000), a);
  });

  it('draws standard normals (mean 0, variance 1 within 4 standard errors)', () => {
    const n = 200_000;
    const x = new Random(7).normals(n);
    let sum = 0;
    let squares = 0;
    for (const value of x) {
      sum += value;
      squares += value * value;
    }
    const mean = sum / n;
    const variance = squares / n - mean * mean;
    // Standard errors: 1/√n for the mean, √(2/n) for the variance of a normal.
    assert.ok(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
  });

  it('draws integers uniformly (chi-square over 10 classes)', () => {
    const random = new Random(3);
    const counts = new Array(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[random.nextInt(10)]++;
    const expected = n / 10;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(χ² > 27.88) = 0.001.
    assert.ok(chi2 < 27.88, `chi-square ${chi2}`);
  });
});

describe('PNG encoding', () => {
  it('round-trips pixels through a standard PNG', () => {
    const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256);
    const decoded = decodeGreyPng(encodeGreyPng(pixels, 28, 28));
    assert.equal(decoded.width, 28);
    assert.equal(decoded.height, 28);
    assert.deepEqual(decoded.pixels, pixels);
  });

  it('lays tiles out in a grid with gaps', () => {
    const tiles = new Uint8Array(3 * 4).fill(200);
    const grid = tileGrid(tiles, 3, 2, 2);
    assert.equal(grid.width, 2 * 3 + 1);
    assert.equal(grid.height, 2 * 3 + 1);
    assert.equal(grid.pixels[1 * grid.width + 1], 200);
    assert.equal(grid.pixels[0], 0);
    assert.equal(grid.pixels[4 * grid.width + 4], 0, 'the fourth cell is empty');
  });
});

describe('.npy encoding', () => {
  it('writes the header numpy writes, padded to 64 bytes, then the data', () => {
    const bytes = encodeNpy(new Uint8Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLength) % 64, 0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    assert.match(header, /^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    assert.deepEqual([...bytes.subarray(10 + headerLength)], [1, 2, 3, 4, 5, 6]);
    const vector = encodeNpy(new BigInt64Array([7n]), [1]);
    assert.match(new TextDecoder().decode(vector.subarray(10, 74)), /'descr': '<i8'.*'shape': \(1,\)/);
  });
});
