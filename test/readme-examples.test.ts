// The README's examples as a newcomer runs them: every command of its "One call per route family" block,
// in bash with the real curl, against a fresh server — each call must answer 2xx (curl --fail-with-body)
// and every pipe must hold (set -eo pipefail), in the order written. Run this way, its collections flow
// (follow an index job's events to the end, then search) once found no points.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_DECODERS, listen, MODELS_DIR, startApp, stopApp } from './helpers/app.js';

const README = new URL('../README.md', import.meta.url).pathname;

/** The shell block under the heading, without the commands that need more than a fresh server. */
async function examples(heading: string): Promise<string[]> {
  const readme = await readFile(README, 'utf8');
  const start = readme.indexOf('```sh', readme.indexOf(heading));
  const block = readme.slice(start + '```sh'.length, readme.indexOf('```', start + '```sh'.length));
  // `npm run collection:fashion-mnist` loads all 70 000 images from Debian's dataset package.
  return block.split('\n').filter((line) => !line.startsWith('npm run'));
}

describe("the README's examples", () => {
  let app: FastifyInstance;
  let workDir: string;
  before(async () => {
    // The server's own decoder threads (the trace job runs before the index job the examples follow); the
    // jobs the examples queue after (FEAT on DW-4, long minimax runs) stop a second into shutdown.
    app = await startApp({ ...DEFAULT_DECODERS, SHUTDOWN_TIMEOUT_MS: '1000' });
    workDir = await mkdtemp(join(tmpdir(), 'meanserve-readme-'));
    // The examples read models/ from where they run, as from a clone's root.
    await symlink(MODELS_DIR, join(workDir, 'models'));
  });
  after(async () => {
    await stopApp(app);
    await rm(workDir, { recursive: true, force: true });
  });

  it('answer 2xx to every call, run in order with curl against a fresh server', async () => {
    const lines = await examples('## One call per route family');
    const calls = lines.filter((line) => /(^|\$\(|; )curl /.test(line)).length;
    assert.ok(calls >= 40, `${calls} curl calls found: is the block still where this test looks?`);
    const host = new URL(await listen(app)).host;
    const script = [
      'set -eo pipefail',
      // Every call counted, and each must answer 2xx.
      'curl() { echo call >&3; command curl --fail-with-body --silent --show-error --max-time 120 "$@"; }',
      ...lines.map((line) => line.replaceAll('localhost:8080', host)),
    ].join('\n');
    // Asynchronously: the server answering the calls runs in this process.
    const run = await promisify(execFile)('bash', ['-c', `exec 3>"${join(workDir, 'calls')}"\n${script}`], {
      cwd: workDir,
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      () => ({ status: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ status: error.code, stderr: error.stderr }),
    );
    assert.equal(run.status, 0, `the examples stopped: ${run.stderr.slice(-2000)}`);
    const made = (await readFile(join(workDir, 'calls'), 'utf8')).split('\n').filter(Boolean).length;
    assert.equal(made, calls, 'every curl of the block ran');
  });
});
