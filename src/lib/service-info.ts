// The service's name, version and description, read once from its package.json (the nearest one above this
// module: the repository's when run from source, /app's in the image): what GET /v2 and the OpenAPI
// document report, and where the project's own files are.
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

const packageJson = nearestPackageJson(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as {
  name: string;
  version: string;
  description: string;
};

export const SERVICE = { name: pkg.name, version: pkg.version, description: pkg.description };

/** The directory of that package.json: the repository (or /app), where web/ and models/ are. */
export const PROJECT_ROOT = dirname(packageJson);
