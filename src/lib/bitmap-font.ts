// A 5×9 bitmap font drawn for this project, for labels burnt into PNG images (no font files, no text
// renderer). Each glyph is rows of 5 pixels, '#' on, top to bottom: capitals and digits use rows 0–6,
// lower case letters have their x-height at rows 2–6 and descenders in rows 7–8. Characters it lacks are
// drawn as '?'.

const GLYPHS: Record<string, string> = {
  ' ': '',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '####.|#...#|#...#|#...#|#...#|#...#|####.',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|##..#|#.#.#|#..##|#...#|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  a: '.....|.....|.###.|....#|.####|#...#|.####',
  b: '#....|#....|####.|#...#|#...#|#...#|####.',
  c: '.....|.....|.###.|#....|#....|#....|.###.',
  d: '....#|....#|.####|#...#|#...#|#...#|.####',
  e: '.....|.....|.###.|#...#|#####|#....|.###.',
  f: '..##.|.#...|####.|.#...|.#...|.#...|.#...',
  g: '.....|.....|.####|#...#|#...#|#...#|.####|....#|.###.',
  h: '#....|#....|####.|#...#|#...#|#...#|#...#',
  i: '..#..|.....|.##..|..#..|..#..|..#..|.###.',
  j: '...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##..',
  k: '#....|#....|#..#.|#.#..|##...|#.#..|#..#.',
  l: '.##..|..#..|..#..|..#..|..#..|..#..|.###.',
  m: '.....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#',
  n: '.....|.....|####.|#...#|#...#|#...#|#...#',
  o: '.....|.....|.###.|#...#|#...#|#...#|.###.',
  p: '.....|.....|####.|#...#|#...#|#...#|####.|#....|#....',
  q: '.....|.....|.####|#...#|#...#|#...#|.####|....#|....#',
  r: '.....|.....|#.##.|##..#|#....|#....|#....',
  s: '.....|.....|.####|#....|.###.|....#|####.',
  t: '.#...|.#...|####.|.#...|.#...|.#..#|..##.',
  u: '.....|.....|#...#|#...#|#...#|#..##|.##.#',
  v: '.....|.....|#...#|#...#|#...#|.#.#.|..#..',
  w: '.....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.',
  x: '.....|.....|#...#|.#.#.|..#..|.#.#.|#...#',
  y: '.....|.....|#...#|#...#|#...#|#...#|.####|....#|.###.',
  z: '.....|.....|#####|...#.|..#..|.#...|#####',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '####.|....#|....#|.###.|....#|....#|####.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  '-': '.....|.....|.....|#####',
  _: '.....|.....|.....|.....|.....|.....|#####',
  '+': '.....|..#..|..#..|#####|..#..|..#..',
  '/': '....#|....#|...#.|..#..|.#...|#....|#....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.....|.##..|.##..|..#..|.#...',
  ':': '.....|.##..|.##..|.....|.##..|.##..',
  "'": '..#..|..#..|.#...',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '&': '.##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 9;
/** Pixels between glyphs. */
const SPACING = 1;

/** The width in pixels of `text` at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + SPACING) - SPACING) * scale;
}

/**
 * Draws `text` into a greyscale image (`pixels`, `width` wide, one byte per pixel) with its top-left corner
 * at (x, y), each font pixel a `scale` × `scale` square of `value`; whatever falls outside is clipped.
 */
export function drawText(
  pixels: Uint8Array,
  width: number,
  text: string,
  x: number,
  y: number,
  options: { scale?: number; value?: number } = {},
): void {
  const scale = options.scale ?? 1;
  const value = options.value ?? 255;
  const height = pixels.length / width;
  [...text].forEach((character, index) => {
    const rows = (GLYPHS[character] ?? (GLYPHS['?'] as string)).split('|');
    const left = x + index * (GLYPH_WIDTH + SPACING) * scale;
    rows.forEach((row, r) => {
      for (let c = 0; c < row.length; c++) {
        if (row[c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + r * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = left + c * scale + dx;
            if (px >= 0 && px < width) pixels[py * width + px] = value;
          }
        }
      }
    });
  });
}

/**
 * `image` with a margin on its left holding one label per row of tiles (`rowPitch` pixels apart, the first
 * starting `top` pixels down), each centred on its row, at the largest scale that fits the pitch (at most 2).
 */
export function prependRowLabels(
  image: { pixels: Uint8Array; width: number; height: number },
  labels: string[],
  rowPitch: number,
  top = 0,
): { pixels: Uint8Array; width: number; height: number } {
  const scale = Math.max(1, Math.min(2, Math.floor(rowPitch / GLYPH_HEIGHT)));
  const padding = 2 * scale;
  const margin = Math.max(...labels.map((label) => textWidth(label, scale))) + 2 * padding;
  const width = margin + image.width;
  const pixels = new Uint8Array(width * image.height);
  for (let y = 0; y < image.height; y++) {
    pixels.set(image.pixels.subarray(y * image.width, (y + 1) * image.width), y * width + margin);
  }
  // Capitals sit in rows 0–6 of a glyph: centre those on the row.
  const capHeight = 7 * scale;
  labels.forEach((label, row) => {
    const y = top + row * rowPitch + Math.floor((rowPitch - capHeight) / 2);
    drawText(pixels, width, label, margin - padding - textWidth(label, scale), y, { scale });
  });
  return { pixels, width, height: image.height };
}
