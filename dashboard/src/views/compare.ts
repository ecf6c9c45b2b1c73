import type uPlot from 'uplot';
import { getJson, onVersions } from '../api.js';
import { clear, fmt, h, PALETTE } from '../dom.js';
import { lineChart } from '../lines.js';
import { scatter } from '../scatter.js';
import type { CompareResult, StudySummary } from '../types.js';
import { mean, sampleStd } from '../../../src/core/stats.js';

export function compareView(initial: number[]): (root: HTMLElement) => () => void {
  return (root) => {
    let disposed = false;
    let chart: uPlot | null = null;
    const selected = new Set(initial.filter((x) => Number.isInteger(x) && x > 0));
    const picker = h('div', { class: 'controls', id: 'compare-picker' });
    const out = h('div', {});
    root.append(
      h('h1', {}, 'Compare studies'),
      h('div', { class: 'sub' }, 'Best-so-far curves of several studies on one chart, each on its own first objective (compare studies that share an evaluator).'),
      h('div', { class: 'panel' }, picker),
      out,
    );
    let studies: StudySummary[] = [];

    async function load(): Promise<void> {
      try {
        studies = (await getJson<{ studies: StudySummary[] }>('/api/studies')).studies;
        if (disposed) return;
        if (selected.size === 0) for (const s of studies.slice(0, 4)) selected.add(s.id);
        renderPicker();
        await renderChart();
      } catch (e) {
        clear(out);
        out.append(h('div', { class: 'err' }, String(e instanceof Error ? e.message : e)));
      }
    }

    function renderPicker(): void {
      clear(picker);
      picker.append('studies: ');
      for (const s of studies) {
        const box = h('input', { type: 'checkbox', value: s.id });
        box.checked = selected.has(s.id);
        box.addEventListener('change', () => {
          if (box.checked) selected.add(s.id);
          else selected.delete(s.id);
          history.replaceState(null, '', `#/compare?ids=${[...selected].join(',')}`);
          void renderChart();
        });
        picker.append(h('label', { style: 'margin-right:10px;color:#1d2330' }, box, ` ${s.name} `, h('span', { style: 'color:#667085' }, `(${s.strategy})`)));
      }
    }

    async function renderChart(): Promise<void> {
      chart?.destroy();
      chart = null;
      clear(out);
      const ids = [...selected];
      if (ids.length === 0) {
        out.append(h('div', { class: 'empty' }, 'tick at least one study'));
        return;
      }
      const res = await getJson<CompareResult>(`/api/compare?ids=${ids.join(',')}`);
      if (disposed) return;
      const p1 = h('div', { class: 'panel', id: 'compare-chart' }, h('h2', {}, 'Best so far vs trial number'));
      const p2 = h('div', { class: 'panel' }, h('h2', {}, 'Best so far vs wall-clock time'));
      out.append(h('div', { class: 'grid2' }, p1, p2), h('div', { class: 'row-gap' }));
      const width = Math.max(320, p1.clientWidth - 34);
      const maxN = Math.max(0, ...res.studies.flatMap((s) => s.curve.map((p) => p.number)));
      const xs = Array.from({ length: maxN + 1 }, (_, i) => i);
      const series = res.studies.map((s, k) => {
        const vals: (number | null)[] = new Array<number | null>(xs.length).fill(null);
        let j = 0;
        let cur: number | null = null;
        for (let n = 0; n <= maxN; n++) {
          while (j < s.curve.length && s.curve[j]!.number <= n) cur = s.curve[j++]!.best;
          vals[n] = n <= (s.curve[s.curve.length - 1]?.number ?? -1) ? cur : null;
        }
        return { label: `${s.study.name} (${s.study.strategy})`, color: PALETTE[k % PALETTE.length]!, values: vals, step: true };
      });
      const metric = [...new Set(res.studies.map((s) => s.study.objectives[0]?.metric ?? 'value'))].join(' / ');
      const holder = h('div', {});
      p1.append(holder);
      chart = lineChart(holder, xs, series, { width, height: 320, xLabel: 'trial number', yLabel: `best ${metric}` });
      p2.append(
        scatter([], {
          width,
          height: 320,
          xLabel: 'seconds since the study started',
          yLabel: `best ${metric}`,
          lines: res.studies.map((s, k) => ({
            points: s.curve.filter((p) => p.t !== null).map((p) => ({ x: p.t!, y: p.best })),
            color: PALETTE[k % PALETTE.length]!,
            step: true,
          })),
        }),
        h('div', { class: 'legend' }, res.studies.map((s, k) => h('span', {}, h('i', { style: `background:${PALETTE[k % PALETTE.length]}` }), s.study.name))),
      );
      // Repeated runs (`tsnas repeat`: studies NAME-seed<k>): mean ± std of the best so far per trial number.
      const groups = repeatGroups(res);
      if (groups.length) {
        const p3 = h('div', { class: 'panel', id: 'compare-repeats' }, h('h2', {}, 'Repeated runs: best so far, mean ± std over seeds'));
        out.append(p3, h('div', { class: 'row-gap' }));
        p3.append(
          scatter([], {
            width: Math.max(320, p3.clientWidth - 34),
            height: 320,
            xLabel: 'trial number',
            yLabel: `best ${metric}`,
            bands: groups.map((g, k) => ({ color: PALETTE[k % PALETTE.length]!, points: g.stats.map((x) => ({ x: x.n, lo: x.mean - x.std, hi: x.mean + x.std })) })),
            lines: groups.map((g, k) => ({ color: PALETTE[k % PALETTE.length]!, points: g.stats.map((x) => ({ x: x.n, y: x.mean })) })),
          }),
          h(
            'div',
            { class: 'legend' },
            groups.map((g, k) => h('span', {}, h('i', { style: `background:${PALETTE[k % PALETTE.length]}` }), `${g.name} (${g.seeds} seeds)`)),
            h('span', {}, 'band: ± one sample std (n-1), over the seeds that reached that trial'),
          ),
        );
      }
      // Multi-objective studies: each one's Pareto size and hypervolume, all bounded by the ONE
      // reference point the API states (shared by the compared studies, or given as ref=).
      const mo = res.hypervolume;
      const hvCols = mo !== undefined && mo.ref !== null;
      out.append(
        h(
          'div',
          { class: 'panel' },
          ...(mo ? [h('div', { class: 'sub', id: 'compare-hv-note' }, mo.ref ? `Hypervolume of each study's Pareto front on ${'metrics' in mo ? mo.metrics.join(', ') : ''}, every one bounded by the same reference point ${mo.note}` : `Hypervolume: ${mo.note}`)] : []),
          h(
            'table',
            { class: 'data', id: 'compare-table' },
            h('thead', {}, h('tr', {}, ['Study', 'Strategy', 'Evaluator', 'Trials', 'Best', 'Reached at trial', ...(hvCols ? ['Pareto size', 'Hypervolume'] : [])].map((c, i) => h('th', { class: i >= 3 ? 'num' : '' }, c)))),
            h(
              'tbody',
              {},
              res.studies.map((s, k) => {
                const last = s.curve[s.curve.length - 1];
                const firstBest = last ? s.curve.find((p) => p.best === last.best) : undefined;
                return h(
                  'tr',
                  {},
                  h('td', {}, h('i', { style: `display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;background:${PALETTE[k % PALETTE.length]}` }), h('a', { href: `#/study/${s.study.id}` }, s.study.name)),
                  h('td', {}, s.study.strategy),
                  h('td', {}, s.study.evaluator),
                  h('td', { class: 'num' }, s.study.total),
                  h('td', { class: 'num' }, last ? fmt(last.best, 3) : '–'),
                  h('td', { class: 'num' }, firstBest ? firstBest.number : '–'),
                  ...(hvCols ? [h('td', { class: 'num' }, s.pareto ? s.pareto.size : '–'), h('td', { class: 'num' }, s.pareto?.hypervolume != null ? fmt(s.pareto.hypervolume, 4) : '–')] : []),
                );
              }),
            ),
          ),
        ),
      );
    }

    void load();
    let pending = false;
    const off = onVersions(() => {
      if (pending) return;
      pending = true;
      setTimeout(() => ((pending = false), void renderChart()), 500);
    });
    return () => {
      disposed = true;
      off();
      chart?.destroy();
    };
  };
}

/**
 * Studies named `<base>-seed<k>` (as `tsnas repeat` names them) with at least two seeds among the
 * compared ones: per trial number, the mean and sample std (n-1) of the seeds' best so far.
 */
function repeatGroups(res: CompareResult): { name: string; seeds: number; stats: { n: number; mean: number; std: number }[] }[] {
  const by = new Map<string, CompareResult['studies'][number][]>();
  for (const s of res.studies) {
    const m = /^(.*)-seed\d+$/.exec(s.study.name);
    if (!m) continue;
    by.set(m[1]!, [...(by.get(m[1]!) ?? []), s]);
  }
  const out: { name: string; seeds: number; stats: { n: number; mean: number; std: number }[] }[] = [];
  for (const [name, runs] of by) {
    if (runs.length < 2) continue;
    const maxN = Math.max(...runs.map((r) => r.curve[r.curve.length - 1]?.number ?? -1));
    const stats: { n: number; mean: number; std: number }[] = [];
    const idx = runs.map(() => 0);
    const cur: (number | null)[] = runs.map(() => null);
    for (let n = 0; n <= maxN; n++) {
      runs.forEach((r, k) => {
        while (idx[k]! < r.curve.length && r.curve[idx[k]!]!.number <= n) cur[k] = r.curve[idx[k]!++]!.best;
      });
      const vals = cur.filter((v, k): v is number => v !== null && n <= (runs[k]!.curve[runs[k]!.curve.length - 1]?.number ?? -1));
      if (vals.length < 2) continue;
      // Exactly 0 (and the common value) for seeds equal within rounding (src/core/stats.ts).
      stats.push({ n, mean: mean(vals), std: sampleStd(vals) });
    }
    if (stats.length) out.push({ name, seeds: runs.length, stats });
  }
  return out;
}
