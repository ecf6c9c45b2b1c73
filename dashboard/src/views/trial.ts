import type uPlot from 'uplot';
import { getJson, onVersions } from '../api.js';
import { clear, fmt, fmtDuration, fmtTime, h, PALETTE, supernetBadge } from '../dom.js';
import { lineChart, type LineSeries } from '../lines.js';
import { drawArch } from '../archgraph.js';
import { paramLabel } from '../labels.js';
import { METRIC_KIND_LABEL, METRIC_KINDS, metricKind, type MetricKind } from '../analysis.js';
import type { StudyDetail, TrialDetail } from '../types.js';

export function trialView(studyId: number, number: number): (root: HTMLElement) => () => void {
  return (root) => {
    let disposed = false;
    let chart: uPlot | null = null;
    let lastKey = '';
    const ui = { kind: '' };

    async function load(): Promise<void> {
      try {
        const [d, t] = await Promise.all([getJson<StudyDetail>(`/api/studies/${studyId}`), getJson<TrialDetail>(`/api/studies/${studyId}/trials/${number}`)]);
        if (disposed) return;
        const key = `${t.state}:${t.intermediate.length}:${t.finishedAt ?? ''}`;
        if (key === lastKey) return;
        lastKey = key;
        render(d, t);
      } catch (e) {
        clear(root);
        root.append(h('div', { class: 'err' }, String(e instanceof Error ? e.message : e)));
      }
    }

    function render(d: StudyDetail, t: TrialDetail): void {
      chart?.destroy();
      chart = null;
      clear(root);
      const obj = d.study.objectives[0];
      root.append(
        h('div', { class: 'sub', style: 'margin-bottom:6px' }, h('a', { href: `#/study/${studyId}` }, `← ${d.study.name}`), ' · ', h('a', { href: `#/study/${studyId}/trials` }, 'all trials')),
        h(
          'h1',
          {},
          `Trial ${t.number} `,
          h('span', { class: `badge ${t.state}` }, t.state),
          t.supernet ? supernetBadge() : null,
          h('span', { style: 'font-size:13px;font-weight:400;margin-left:12px' }, number > 0 ? h('a', { href: `#/study/${studyId}/trial/${number - 1}` }, '‹ prev') : null, '  ', number + 1 < d.study.total ? h('a', { href: `#/study/${studyId}/trial/${number + 1}` }, 'next ›') : null),
        ),
        h(
          'div',
          { class: 'sub' },
          t.supernet ? `not a candidate (the supernet's ${obj?.metric ?? 'value'} is in its metrics) · duration` : `${obj?.metric ?? 'value'} ${fmt(t.value, 3)} · duration ${fmtDuration(t.durationMs)}`,
          t.budget !== null ? ` · budget ${t.budget}` : '',
          t.generation !== null ? ` · generation ${t.generation}` : '',
          t.attempt > 1 ? ` · attempt ${t.attempt}` : '',
          t.message ? ` · ${t.message}` : '',
        ),
      );
      const curves = h('div', { class: 'panel', id: 'learning-curve' }, h('h2', {}, 'Learning curves'));
      const archPanel = h('div', { class: 'panel', id: 'arch' }, h('h2', {}, 'Architecture'));
      root.append(h('div', { class: 'grid2' }, curves, archPanel), h('div', { class: 'row-gap' }));
      const width = Math.max(320, curves.clientWidth - 34);

      // Values JSON cannot carry (NaN, infinite: a diverged loss) are named, never dropped silently.
      const bad = new Map<string, number[]>();
      for (const p of t.intermediate) for (const k of Object.keys(p.nonFinite ?? {})) bad.set(k, [...(bad.get(k) ?? []), p.step]);
      const badNote =
        bad.size > 0
          ? h(
              'div',
              { class: 'sub nonfinite', id: 'curve-nonfinite' },
              'Not finite (not drawn): ',
              [...bad].map(([k, steps]) => `${k} at epoch${steps.length > 1 ? 's' : ''} ${steps.length > 6 ? `${steps.slice(0, 6).join(', ')}… (${steps.length})` : steps.join(', ')}`).join('; '),
            )
          : null;
      if (t.intermediate.length === 0) curves.append(h('div', { class: 'empty' }, t.state === 'running' || t.state === 'waiting' ? 'no epoch reported yet' : 'this trial reported no per-epoch values'));
      else {
        const steps = t.intermediate.map((p) => p.step);
        const names = [...new Set(t.intermediate.flatMap((p) => Object.keys(p.metrics)))].sort();
        // Metrics grouped by kind (percent, loss, 0-1 score, learning rate, time, other): one kind
        // per chart, so every curve on an axis shares its unit.
        const kindOf = new Map(names.map((n) => [n, metricKind(n, t.intermediate.map((p) => p.metrics[n]).filter((v): v is number => v !== undefined))]));
        const kinds = METRIC_KINDS.filter((k) => [...kindOf.values()].includes(k));
        if (!kinds.includes(ui.kind as MetricKind) && kinds[0] !== undefined) ui.kind = kinds[0];
        const holder = h('div', {});
        const picker = h('div', { class: 'controls', id: 'curve-kinds' }, 'show ');
        for (const k of kinds) {
          const n = names.filter((m) => kindOf.get(m) === k).length;
          const b = h('button', { class: k === ui.kind ? 'active' : '', 'data-kind': k }, `${METRIC_KIND_LABEL[k]} (${n})`);
          b.addEventListener('click', () => {
            ui.kind = k;
            draw();
          });
          picker.append(b);
        }
        curves.append(picker, holder, badNote ?? '');
        if (names.length === 0) picker.append(h('span', { class: 'empty' }, 'no finite per-epoch value to draw'));
        const bases = [...new Set(names.map(baseName))];
        const draw = (): void => {
          chart?.destroy();
          clear(holder);
          for (const b of picker.querySelectorAll('button')) b.classList.toggle('active', (b as HTMLElement).dataset['kind'] === ui.kind);
          const shown = names.filter((n) => kindOf.get(n) === ui.kind);
          // One colour per quantity (acc, loss...), dashed for the training split, solid otherwise.
          const series: LineSeries[] = shown.map((n) => ({
            label: n,
            color: PALETTE[bases.indexOf(baseName(n)) % PALETTE.length]!,
            values: t.intermediate.map((p) => p.metrics[n] ?? null),
            points: steps.length < 60,
            dash: /^train/.test(n),
          }));
          chart = lineChart(holder, steps, series, { width, height: 300, xLabel: 'epoch', yLabel: METRIC_KIND_LABEL[ui.kind as MetricKind] });
        };
        if (names.length) draw();
      }

      const svg = drawArch(t.arch);
      const family = svg?.getAttribute('data-family') ?? null;
      if (svg) {
        svg.setAttribute('width', '100%');
        svg.style.maxWidth = `${svg.viewBox.baseVal.width}px`;
        archPanel.append(svg);
      } else archPanel.append(h('pre', { class: 'json' }, JSON.stringify(t.arch, null, 2)));
      if (t.archKey) archPanel.append(h('div', { class: 'sub', style: 'margin:8px 0 0;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all' }, t.archKey));

      const metrics = h('div', { class: 'panel' }, h('h2', {}, 'Metrics'), kv([...Object.entries(t.metrics).map(([k, v]): [string, string] => [k, fmt(v, 4)]), ...Object.entries(t.nonFinite ?? {})]));
      const params = h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Parameters'),
        kv(Object.entries(t.params).map(([k, v]) => [paramLabel(k, family), String(v)])),
      );
      const times = h(
        'div',
        { class: 'panel' },
        h('h2', {}, 'Timing'),
        kv([
          ['started (UTC)', fmtTime(t.startedAt)],
          ['finished (UTC)', fmtTime(t.finishedAt)],
          ['duration', fmtDuration(t.durationMs)],
          ['attempt', String(t.attempt)],
        ]),
        h('h2', { style: 'margin-top:14px' }, 'Architecture JSON'),
        h('pre', { class: 'json' }, JSON.stringify(t.arch, null, 2)),
      );
      root.append(h('div', { class: 'grid2' }, h('div', {}, metrics, params), times));
    }

    void load();
    const off = onVersions(() => void load());
    // A running trial's epochs do not change its study's version: poll while it runs.
    const poll = setInterval(() => {
      if (lastKey.startsWith('running') || lastKey.startsWith('waiting')) void load();
    }, 2000);
    return () => {
      disposed = true;
      off();
      clearInterval(poll);
      chart?.destroy();
    };
  };
}

function baseName(metric: string): string {
  return metric.replace(/^(train|val|valid|test)_/, '');
}

function kv(pairs: [string, string][]): HTMLElement {
  if (pairs.length === 0) return h('div', { class: 'empty' }, 'none');
  return h('div', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('span', { class: 'k' }, k), h('span', {}, v)]));
}
