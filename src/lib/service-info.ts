// The service's name, version and description, read once from its package.json (the nearest one above this
// module: the repository's when run from source, /app's in the image): what GET /v2 and the OpenAPI
// document report.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function nearestPackageJson(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const pkg = JSON.parse(readFileSync(nearestPackageJson(dirname(fileURLToPath(import.meta.url))), 'utf8')) as {
  name: string;
  version: string;
  description: string;
};

export const SERVICE = { name: pkg.name, version: pkg.version, description: pkg.description };
