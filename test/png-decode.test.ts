import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePng, PngError } from '../src/lib/png-decode.js';
import { encodeGreyPng } from '../src/lib/png-encode.js';
import { writePng } from './helpers/png-writer.js';

// A 5×3 grey ramp with every filter type used on some row.
const WIDTH = 5;
const HEIGHT = 3;
const grey = Array.from({ length: WIDTH * HEIGHT }, (_, i) => (i * 37 + 11) % 256);

describe('PNG decoder', () => {
  it('reads back what our encoder writes', () => {
    const pixels = Uint8Array.from(grey);
    const image = decodePng(encodeGreyPng(pixels, WIDTH, HEIGHT), 1024);
    assert.deepEqual([image.width, image.height], [WIDTH, HEIGHT]);
    assert.deepEqual([...image.pixels], grey);
  });

  for (const filters of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]]) {
    it(`undoes row filters ${filters.join(',')}`, () => {
      const png = writePng({ width: WIDTH, height: HEIGHT, colourType: 0, samples: grey, filters });
      assert.deepEqual([...decodePng(png, 1024).pixels], grey);
    });
  }

  // Pixels of several bytes: a filter's left neighbour is a whole pixel back, and the first pixel has none.
  for (const [colourType, depth, channels] of [
    [2, 8, 3],
    [0, 16, 1],
    [4, 8, 2],
  ] as const) {
    it(`undoes every row filter on ${channels * (depth / 8)}-byte pixels (colour type ${colourType})`, () => {
      const samples = Array.from(
        { length: WIDTH * HEIGHT * channels },
        (_, i) => (i * 97 + 13) % (depth === 16 ? 65536 : 256),
      );
      const spec = { width: WIDTH, height: HEIGHT, colourType, depth, samples };
      const unfiltered = [...decodePng(writePng({ ...spec, filters: [0] }), 1024).pixels];
      for (const filters of [[1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
        assert.deepEqual([...decodePng(writePng({ ...spec, filters }), 1024).pixels], unfiltered);
      }
    });
  }

  it('turns RGB into BT.601 luminance and composites alpha over black', () => {
    const rgb = writePng({
      width: 2,
      height: 1,
      colourType: 2,
      samples: [255, 0, 0, 10, 20, 30],
      filters: [4],
    });
    assert.deepEqual(
      [...decodePng(rgb, 1024).pixels],
      [Math.round(0.299 * 255), Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30)],
    );
    const rgba = writePng({ width: 1, height: 1, colourType: 6, samples: [200, 200, 200, 128] });
    assert.deepEqual([...decodePng(rgba, 1024).pixels], [Math.round((200 * 128) / 255)]);
    const greyAlpha = writePng({ width: 1, height: 1, colourType: 4, samples: [100, 0] });
    assert.deepEqual([...decodePng(greyAlpha, 1024).pixels], [0]);
  });

  it('reads palette images with transparency and low bit depths', () => {
    const palette = writePng({
      width: 3,
      height: 1,
      colourType: 3,
      depth: 2,
      samples: [0, 1, 2],
      palette: [0, 0, 0, 255, 255, 255, 100, 100, 100],
      paletteAlpha: [255, 255, 0],
    });
    assert.deepEqual([...decodePng(palette, 1024).pixels], [0, 255, 0]);
    const oneBit = writePng({
      width: 9,
      height: 1,
      colourType: 0,
      depth: 1,
      samples: [1, 0, 1, 1, 0, 0, 0, 1, 1],
    });
    assert.deepEqual([...decodePng(oneBit, 1024).pixels], [255, 0, 255, 255, 0, 0, 0, 255, 255]);
    const sixteen = writePng({ width: 1, height: 1, colourType: 0, depth: 16, samples: [0xabcd] });
    assert.deepEqual([...decodePng(sixteen, 1024).pixels], [0xab]);
  });

  it('refuses what it cannot read, saying why', () => {
    const good = writePng({ width: WIDTH, height: HEIGHT, colourType: 0, samples: grey });
    const cases: Array<[string, Buffer, RegExp]> = [
      ['not a PNG', Buffer.from('hello world'), /signature/],
      ['truncated', good.subarray(0, good.length - 20), /truncated|inflate/],
      [
        'interlaced',
        writePng({ width: 2, height: 2, colourType: 0, samples: [1, 2, 3, 4], interlace: true }),
        /interlaced/,
      ],
      [
        'too large',
        writePng({ width: 2000, height: 1, colourType: 0, samples: new Array(2000).fill(0) }),
        /largest side/,
      ],
      [
        'bad depth',
        writePng({ width: 1, height: 1, colourType: 2, depth: 4, samples: [1, 1, 1] }),
        /bit depth/,
      ],
      [
        // The 1×1 header first, then one of another size: decoding would ignore what the first promised.
        'a second IHDR',
        Buffer.concat([good.subarray(0, 33), good.subarray(8)]),
        /second IHDR/,
      ],
      [
        'palette index outside',
        writePng({ width: 1, height: 1, colourType: 3, samples: [5], palette: [0, 0, 0] }),
        /palette/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(
        () => decodePng(bytes, 1024),
        (error: Error) => error instanceof PngError && message.test(error.message),
        name,
      );
    }
  });
});
