// Pages for people with a browser: the recent jobs (/jobs), one job with its live progress and plots
// (/jobs/{id}) and the MeanFlow grid picker (/meanflow). Each is a small HTML shell and one script module from
// web/, served as they are (no build step); the scripts call the same API as every other client, under the same
// keys (a browser asks for the key through Basic auth, see auth.ts). Nothing is fetched from elsewhere, so the
// pages work offline and under the service's Content-Security-Policy (scripts from this origin only).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { PROJECT_ROOT } from '../lib/service-info.js';
import { JobPath } from '../schemas/jobs.js';

const WEB_FILES: Record<string, string> = {
  'pages.css': 'text/css; charset=utf-8',
  'common.js': 'text/javascript; charset=utf-8',
  'job.js': 'text/javascript; charset=utf-8',
  'jobs.js': 'text/javascript; charset=utf-8',
  'meanflow.js': 'text/javascript; charset=utf-8',
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function page(title: string, script: string, data: Record<string, string> = {}): string {
  const attributes = Object.entries(data)
    .map(([name, value]) => ` data-${name}="${escapeHtml(value)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · meanserve</title>
<link rel="stylesheet" href="/web/pages.css">
<script type="module" src="/web/${script}"></script>
</head>
<body>
<header><a class="brand" href="/jobs">meanserve</a><a href="/jobs">Jobs</a><a href="/meanflow">MeanFlow</a><a href="/docs">API</a></header>
<main id="page"${attributes}><p>Loading…</p></main>
</body>
</html>
`;
}

const pageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Read once: the files are part of the release, like the models.
  const files = new Map(
    Object.entries(WEB_FILES).map(([name, type]) => [
      name,
      { type, body: readFileSync(join(PROJECT_ROOT, 'web', name)) },
    ]),
  );
  const html = { page: true, shed: false } as const;

  app.get('/jobs', { config: html, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(page('Jobs', 'jobs.js')),
  );
  app.get('/jobs/:id', { config: html, schema: { hide: true, params: JobPath } }, async (request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(page(`Job ${request.params.id}`, 'job.js', { 'job-id': request.params.id })),
  );
  app.get('/meanflow', { config: html, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(page('MeanFlow samples', 'meanflow.js')),
  );
  // The scripts and the stylesheet hold nothing secret: open, so the pages' own assets never ask for a key.
  app.get(
    '/web/:file',
    {
      config: { access: 'open' },
      schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 64 }) }) },
    },
    async (request, reply) => {
      const file = files.get(request.params.file);
      if (file === undefined) return reply.callNotFound();
      return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
    },
  );
};

export default pageRoutes;
