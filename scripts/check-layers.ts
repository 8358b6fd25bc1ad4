// The floor plan of src/ (docs/architecture.md), checked on every `npm run lint`: each top-level folder (and
// the ground-floor files errors.ts and config.ts) stands on a floor; an import may go down or stay on its
// floor, never up, and no two of them may import each other. Solvers import only the ground floor and the
// schemas. Imports are read as text (static, `export … from`, type-only and `import()` all count).
// Also: no file of the repository points at a folder beside it that a clone does not have.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Higher floors may import lower ones. Ground: lib/, errors.ts, config.ts. */
const FLOORS: Record<string, number> = {
  server: 7,
  routes: 6,
  jobs: 5,
  retrieval: 4,
  models: 3,
  solvers: 2,
  schemas: 1,
  lib: 0,
  'errors.ts': 0,
  'config.ts': 0,
};

/** What each folder may import besides itself, where the floors alone allow more. */
const ONLY: Record<string, string[]> = {
  solvers: ['schemas', 'lib', 'errors.ts'],
  schemas: ['lib', 'errors.ts'],
};

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const tracked = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);

function unitOf(path: string): string | undefined {
  const inSrc = relative('src', path);
  if (inSrc.startsWith('..')) return undefined;
  const [first] = inSrc.split('/');
  return first !== undefined && first in FLOORS ? first : undefined;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
const problems: string[] = [];
const edges = new Map<string, Set<string>>();

for (const file of tracked.filter((path) => path.startsWith('src/') && /\.(ts|mjs)$/.test(path))) {
  const from = unitOf(file);
  if (from === undefined) {
    problems.push(`${file}: a file outside the floors (${Object.keys(FLOORS).join(', ')})`);
    continue;
  }
  const text = readFileSync(join(root, file), 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const target = normalize(join(dirname(file), match[1] as string));
    const to = unitOf(target);
    if (to === undefined || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)?.add(to);
    const floorFrom = FLOORS[from] as number;
    const floorTo = FLOORS[to] as number;
    if (floorTo > floorFrom)
      problems.push(`${file}: ${from} (floor ${floorFrom}) imports ${to} (floor ${floorTo})`);
    const only = ONLY[from];
    if (only !== undefined && !only.includes(to))
      problems.push(`${file}: ${from} may import only ${only.join(', ')}, not ${to}`);
  }
}

for (const [from, targets] of edges) {
  for (const to of targets) {
    if (from < to && edges.get(to)?.has(from)) problems.push(`${from} and ${to} import each other`);
  }
}

// A clone holds the repository only: nothing in it may point at the folder of notes beside it.
const outside = ['..', 'shared', ''].join('/');
const notes = ['shared', 'reference'].join('/');
for (const file of tracked) {
  if (
    file === 'package-lock.json' ||
    !/\.(ts|mjs|js|json|md|py|sh|yml|yaml|txt)$|^Dockerfile$|^\.ci\//.test(file)
  )
    continue;
  const text = readFileSync(join(root, file), 'utf8');
  if (text.includes(outside) || text.includes(notes))
    problems.push(`${file}: points outside the repository (${outside})`);
}

if (problems.length > 0) {
  console.error(
    `layer check: ${problems.length} problem(s)\n${problems.map((line) => `  ${line}`).join('\n')}`,
  );
  process.exit(1);
}
console.log(
  `layer check: every import between the ${Object.keys(FLOORS).length} parts of src/ goes down the floors`,
);
