// GET /jobs: the most recent jobs (the query string's type, state and limit are passed to GET /v1/jobs), each
// linked to its page; refreshed every few seconds while any of them is still queued or running.
import { api, el, percent, showError } from './common.js';

const main = document.getElementById('page');
const REFRESH_MS = 3000;

function row(job) {
  return el(
    'tr',
    {},
    el('td', {}, el('a', { href: `/jobs/${encodeURIComponent(job.id)}` }, job.id)),
    el('td', {}, job.type),
    el('td', {}, el('span', { class: `state ${job.state}` }, job.state)),
    el('td', {}, percent(job.progress?.fraction)),
    el('td', {}, job.createdAt),
  );
}

async function refresh() {
  const query = new URLSearchParams(location.search);
  if (!query.has('limit')) query.set('limit', '50');
  try {
    const { data } = await api(`/v1/jobs?${query}`);
    main.replaceChildren(
      el('h1', {}, 'Jobs'),
      data.length === 0
        ? el('p', {}, 'No jobs yet. Submit one with POST /v1/jobs (see /docs).')
        : el(
            'table',
            { id: 'jobs' },
            el(
              'tr',
              {},
              ['id', 'type', 'state', 'progress', 'created'].map((name) => el('th', {}, name)),
            ),
            data.map(row),
          ),
    );
    if (data.some((job) => job.state === 'queued' || job.state === 'running'))
      setTimeout(refresh, REFRESH_MS);
  } catch (error) {
    showError(main, error);
  }
}

await refresh();
