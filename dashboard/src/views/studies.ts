import { getJson, onVersions } from '../api.js';
import { clear, fmt, fmtTime, h } from '../dom.js';
import type { StudySummary } from '../types.js';

export function studiesView(root: HTMLElement): () => void {
  root.append(h('h1', {}, 'Studies'), h('div', { class: 'sub' }, 'Every study in the store. Click one to open it; tick several to compare them.'));
  const panel = h('div', { class: 'panel' }, h('div', { class: 'empty' }, 'loading…'));
  root.append(panel);
  let disposed = false;
  const selected = new Set<number>();
  const compareBtn = h('a', { href: '#/compare', class: 'compare-link' }, 'Compare selected');

  async function load(): Promise<void> {
    try {
      const { studies } = await getJson<{ studies: StudySummary[] }>('/api/studies');
      if (!disposed) render(studies);
    } catch (e) {
      clear(panel);
      panel.append(h('div', { class: 'err' }, String(e instanceof Error ? e.message : e)));
    }
  }

  function render(studies: StudySummary[]): void {
    clear(panel);
    if (studies.length === 0) {
      panel.append(h('div', { class: 'empty' }, 'This store has no study yet. Start one with `tsnas search`.'));
      return;
    }
    const updateLink = (): void => {
      compareBtn.setAttribute('href', `#/compare?ids=${[...selected].join(',')}`);
      compareBtn.style.visibility = selected.size >= 1 ? 'visible' : 'hidden';
    };
    const rows = studies.map((s) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `select ${s.name}` });
      box.checked = selected.has(s.id);
      box.addEventListener('click', (ev) => {
        ev.stopPropagation();
        if (box.checked) selected.add(s.id);
        else selected.delete(s.id);
        updateLink();
      });
      const obj = s.objectives[0];
      const tr = h(
        'tr',
        { class: 'click', 'data-study': s.id },
        h('td', {}, box),
        h('td', {}, h('a', { href: `#/study/${s.id}` }, s.name)),
        h('td', {}, h('span', { class: `badge ${s.status}` }, s.status)),
        h('td', {}, s.strategy),
        h('td', {}, s.space),
        h('td', {}, s.evaluator),
        h('td', { class: 'num' }, `${s.total}${s.maxTrials ? ` / ${s.maxTrials}` : ''}`),
        h('td', { class: 'num' }, `${s.counts.complete} · ${s.counts.pruned} · ${s.counts.failed} · ${s.counts.running}`),
        // A multi-objective study has a Pareto front, not one best (as tsnas status says): the
        // objectives count here, every objective in the next column; the study view gives the front and hypervolume.
        s.objectives.length > 1
          ? h('td', { class: 'num mo-best', title: `${s.objectives.length} objectives: a Pareto front, not one best (open the study for its front and hypervolume)` }, `${s.objectives.length} objectives`)
          : h('td', { class: 'num' }, s.best ? fmt(s.best.value, 3) : '–'),
        h('td', {}, obj ? s.objectives.map((o) => `${o.metric} (${o.direction === 'maximize' ? 'max' : 'min'})`).join(', ') : ''),
        h('td', {}, fmtTime(s.createdAt)),
      );
      tr.addEventListener('click', () => (location.hash = `#/study/${s.id}`));
      return tr;
    });
    panel.append(
      h(
        'table',
        { class: 'data', id: 'studies' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['', 'Study', 'State', 'Strategy', 'Space', 'Evaluator', 'Trials', 'Done · pruned · failed · running', 'Best', 'Objectives', 'Created (UTC)'].map((c, i) =>
              h('th', { class: i >= 6 && i <= 8 ? 'num' : '' }, c),
            ),
          ),
        ),
        h('tbody', {}, rows),
      ),
      h('div', { class: 'pager' }, compareBtn),
    );
    updateLink();
  }

  void load();
  const off = onVersions(() => void load());
  return () => {
    disposed = true;
    off();
  };
}
