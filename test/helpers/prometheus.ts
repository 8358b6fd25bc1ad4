// Reading a Prometheus scrape in tests: Prometheus's own checker (promtool, from Debian's prometheus
// package), the value of one sample, and where the package's server is.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

/** Prometheus's server, from the same package. */
export const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

/** `promtool check metrics` on a scrape: its exit status and what it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is missing: apt-get install prometheus (.ci/run does)`);
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** The value of the sample `name` whose labels are exactly `labels`; 0 when there is none. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
    );
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return 0;
}
