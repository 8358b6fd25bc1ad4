// GET /jobs/{id}: one job — its state, params, live progress (the job's server-sent events), its plots once
// written and its artifacts as links; a running job can be cancelled from here.
import { api, el, percent, showError } from './common.js';

const main = document.getElementById('page');
const id = main.dataset.jobId;
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

function metricsTable(metrics) {
  const rows = Object.entries(metrics ?? {}).map(([name, value]) =>
    el(
      'tr',
      {},
      el('th', {}, name),
      el('td', {}, typeof value === 'number' ? value.toPrecision(6) : String(value)),
    ),
  );
  return rows.length === 0 ? '' : el('table', { id: 'metrics' }, rows);
}

function progressSection(progress) {
  return el(
    'section',
    { id: 'progress-section' },
    el('h2', {}, 'Progress'),
    el('progress', { id: 'progress', max: 1, value: progress?.fraction ?? 0 }),
    el(
      'p',
      { id: 'progress-text' },
      percent(progress?.fraction),
      progress?.message ? ` — ${progress.message}` : '',
    ),
    metricsTable(progress?.metrics),
  );
}

function showProgress(progress) {
  document.getElementById('progress-section')?.replaceWith(progressSection(progress));
}

async function cancel() {
  try {
    render(await api(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' }));
  } catch (error) {
    showError(document.getElementById('actions'), error);
  }
}

function render(job) {
  const finished = FINISHED.has(job.state);
  main.replaceChildren(
    el('h1', {}, `Job ${job.type} `, el('span', { id: 'state', class: `state ${job.state}` }, job.state)),
    el(
      'dl',
      {},
      el('dt', {}, 'id'),
      el('dd', {}, job.id),
      el('dt', {}, 'seed'),
      el('dd', {}, job.seed),
      el('dt', {}, 'created'),
      el('dd', {}, job.createdAt),
      el('dt', {}, 'started'),
      el('dd', {}, job.startedAt ?? '–'),
      el('dt', {}, 'finished'),
      el('dd', {}, job.finishedAt ?? '–'),
      el('dt', {}, 'attempts'),
      el('dd', {}, job.attempts),
    ),
    el(
      'div',
      { id: 'actions' },
      finished ? '' : el('button', { id: 'cancel', type: 'button' }, 'Cancel job'),
    ),
    progressSection(job.progress),
    job.error ? el('p', { class: 'error', id: 'error' }, job.error) : '',
    el('h2', {}, 'Plots'),
    el(
      'div',
      { id: 'plots' },
      job.links.plots.length === 0
        ? el('p', {}, finished ? 'This job draws no plots.' : 'Plots appear when the job completes.')
        : job.links.plots.map((url) => el('figure', {}, el('img', { src: url, alt: url.split('/').pop() }))),
    ),
    el('h2', {}, 'Artifacts'),
    el(
      'ul',
      { id: 'artifacts' },
      job.links.artifacts.map((url) => el('li', {}, el('a', { href: url }, url.split('/').pop()))),
    ),
    el('h2', {}, 'Params'),
    job.links.params === undefined
      ? el('pre', { id: 'params' }, JSON.stringify(job.params, null, 2))
      : el(
          'p',
          { id: 'params' },
          `${job.paramsBytes} bytes, too many to show here: `,
          el('a', { href: job.links.params }, 'download them'),
        ),
    job.result === undefined
      ? ''
      : el(
          'details',
          {},
          el('summary', {}, 'Result (JSON)'),
          el('pre', { id: 'result' }, JSON.stringify(job.result, null, 2)),
        ),
  );
  document.getElementById('cancel')?.addEventListener('click', cancel);
  document.title = `${job.type} ${job.state} · meanserve`;
}

function follow() {
  const events = new EventSource(`/v1/jobs/${encodeURIComponent(id)}/events`);
  events.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
  events.addEventListener('progress', (event) => showProgress(JSON.parse(event.data)));
  events.addEventListener('state', (event) => {
    const badge = document.getElementById('state');
    const { state } = JSON.parse(event.data);
    badge.textContent = state;
    badge.className = `state ${state}`;
  });
  for (const final of FINISHED) {
    events.addEventListener(final, (event) => {
      events.close();
      render(JSON.parse(event.data));
    });
  }
}

try {
  render(await api(`/v1/jobs/${encodeURIComponent(id)}`));
  follow();
} catch (error) {
  showError(main, error);
}
