// GET /meanflow: pick a generator, classes, samples per class, steps and seed, and see the labelled grid
// (GET /v1/meanflow/grid.png?labels=true) the choice draws.
import { api, el, showError } from './common.js';

const main = document.getElementById('page');

function form(generators) {
  const [first] = generators;
  const model = el(
    'select',
    { name: 'model', id: 'model' },
    generators.map((g) => el('option', { value: g.name }, g.name)),
  );
  const classes = el('fieldset', { id: 'classes' });
  const steps = el('select', { name: 'steps', id: 'steps' });
  const fill = () => {
    const generator = generators.find((g) => g.name === model.value) ?? first;
    classes.replaceChildren(
      el('legend', {}, 'Classes'),
      ...generator.generator.classes.map((name, index) =>
        el('label', {}, el('input', { type: 'checkbox', name: 'class', value: index, checked: '' }), name),
      ),
    );
    const { min, max } = generator.generator.steps;
    steps.replaceChildren(
      ...Array.from({ length: max - min + 1 }, (_, i) => el('option', { value: min + i }, `${min + i}`)),
    );
  };
  model.addEventListener('change', fill);
  fill();
  return el(
    'form',
    { id: 'grid-form' },
    el('label', {}, 'Generator', model),
    classes,
    el(
      'label',
      {},
      'Samples per class',
      el('input', { type: 'number', name: 'n', id: 'n', min: 1, max: 16, value: 8 }),
    ),
    el('label', {}, 'Steps', steps),
    el('label', {}, 'Seed', el('input', { type: 'number', name: 'seed', id: 'seed', min: 0, value: 0 })),
    el('button', { type: 'submit', id: 'draw' }, 'Draw'),
  );
}

function draw(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const query = new URLSearchParams({
    model: data.get('model'),
    classes: data.getAll('class').join(','),
    n: data.get('n'),
    steps: data.get('steps'),
    seed: data.get('seed'),
    labels: 'true',
  });
  const url = `/v1/meanflow/grid.png?${query}`;
  const output = document.getElementById('grid');
  const image = el('img', { id: 'grid-image', alt: 'generated samples, one row per class' });
  image.addEventListener('error', async () => {
    const problem = await fetch(url)
      .then((response) => response.json())
      .catch(() => ({}));
    showError(output, new Error(problem.detail ?? 'the grid could not be drawn'));
  });
  image.src = url;
  output.replaceChildren(el('p', {}, el('a', { href: url }, url)), image);
}

try {
  const { data } = await api('/v1/models');
  // MeanFlow models first: they are what the page is for; their flow-matching baselines follow.
  const generators = data
    .filter((model) => model.generator !== undefined && model.state === 'ready')
    .sort((a, b) => Number(b.generator.kind === 'meanflow') - Number(a.generator.kind === 'meanflow'));
  if (generators.length === 0) throw new Error('no generator is ready yet; reload in a moment');
  const controls = form(generators);
  controls.addEventListener('submit', draw);
  main.replaceChildren(el('h1', {}, 'MeanFlow samples'), controls, el('div', { id: 'grid' }));
} catch (error) {
  showError(main, error);
}
