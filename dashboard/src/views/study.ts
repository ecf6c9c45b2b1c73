import type uPlot from 'uplot';
import { getJson, onVersions } from '../api.js';
import { clear, fmt, fmtDuration, h, PALETTE, STATE_COLORS } from '../dom.js';
import { bestSoFar, guessDirection, importance, paretoFront, type Dir, type Importance } from '../analysis.js';
import { scatter, type ScatterPoint } from '../scatter.js';
import { lineChart } from '../lines.js';
import { paramLabel } from '../labels.js';
import type { StudyDetail, TrialPage, TrialRow } from '../types.js';

type Tab = 'overview' | 'trials';

export function studyView(id: number, tab: Tab): (root: HTMLElement) => () => void {
  return (root) => {
    let disposed = false;
    let version = '';
    let loading = false;
    const charts: uPlot[] = [];
    const head = h('div', {});
    const body = h('div', {});
    const tabs = h(
      'div',
      { class: 'tabs' },
      h('a', { href: `#/study/${id}`, class: tab === 'overview' ? 'active' : '' }, 'Overview'),
      h('a', { href: `#/study/${id}/trials`, class: tab === 'trials' ? 'active' : '' }, 'Trials'),
    );
    root.append(head, tabs, body);
    const table = tab === 'trials' ? trialTable(id) : null;
    if (table) body.append(table.el);
    // Chart choices survive live refreshes.
    const ui = { colorBy: 'state', px: '', py: '', param: '' };

    async function load(): Promise<void> {
      if (loading) return;
      loading = true;
      try {
        const detail = await getJson<StudyDetail>(`/api/studies/${id}`);
        if (disposed) return;
        version = detail.version;
        renderHead(detail);
        if (table) await table.refresh(detail);
        else {
          const page = await getJson<TrialPage>(`/api/studies/${id}/trials?limit=10000`);
          if (!disposed) renderOverview(detail, page.trials);
        }
      } catch (e) {
        clear(body);
        body.append(h('div', { class: 'err' }, String(e instanceof Error ? e.message : e)));
      } finally {
        loading = false;
      }
    }

    function renderHead(d: StudyDetail): void {
      const s = d.study;
      const obj = s.objectives[0];
      clear(head);
      const elapsed = s.createdAt !== null && s.updatedAt !== null ? s.updatedAt - s.createdAt : null;
      head.append(
        h('h1', {}, s.name, ' ', h('span', { class: `badge ${s.status}` }, s.status)),
        h(
          'div',
          { class: 'sub' },
          `strategy ${s.strategy} · space ${s.space} · evaluator ${s.evaluator} · objective `,
          s.objectives.map((o) => `${o.metric} (${o.direction === 'maximize' ? 'max' : 'min'})`).join(', '),
        ),
        h(
          'div',
          { class: 'stats' },
          stat('Trials', `${s.total}${s.maxTrials ? ` / ${s.maxTrials}` : ''}`, 'stat-trials'),
          stat('Complete', s.counts.complete),
          stat('Pruned', s.counts.pruned),
          stat('Failed', s.counts.failed),
          stat('Running', s.counts.running + s.counts.waiting),
          stat(`Best ${obj?.metric ?? ''}`, s.best ? `${fmt(s.best.value, 3)}` : '–', 'stat-best', s.best ? `#/study/${id}/trial/${s.best.number}` : undefined),
          stat('Elapsed', fmtDuration(elapsed)),
        ),
      );
    }

    function renderOverview(d: StudyDetail, trials: readonly TrialRow[]): void {
      for (const c of charts.splice(0)) c.destroy();
      clear(body);
      const dir: Dir = d.study.objectives[0]?.direction ?? 'maximize';
      const metric = d.study.objectives[0]?.metric ?? 'value';
      const done = trials.filter((t) => t.value !== null && (t.state === 'complete' || t.state === 'pruned'));
      const complete = trials.filter((t) => t.state === 'complete' && t.value !== null).sort((a, b) => a.number - b.number);
      const best = bestSoFar(complete.map((t) => ({ number: t.number, value: t.value! })), dir);
      const family = familyOf(trials);

      // 1. every trial's value vs trial number, with best-so-far
      const p1 = h('div', { class: 'panel', id: 'chart-trials' });
      const hasGen = trials.some((t) => t.generation !== null);
      if (!hasGen) ui.colorBy = 'state';
      const colorSel = select(hasGen ? ['state', 'generation'] : ['state'], ui.colorBy, (v) => {
        ui.colorBy = v;
        renderOverview(d, trials);
      }, 'color-by');
      // 2. best so far vs time
      const p2 = h('div', { class: 'panel', id: 'chart-time' });
      const row1 = h('div', { class: 'grid2' }, p1, p2);
      // 3. pareto, 4. importance
      const p3 = h('div', { class: 'panel', id: 'chart-pareto' });
      const p4 = h('div', { class: 'panel', id: 'importance' });
      const row2 = h('div', { class: 'grid2' }, p3, p4);
      body.append(row1, h('div', { class: 'row-gap' }), row2);
      const width = Math.max(320, p1.clientWidth - 34);

      const gens = done.map((t) => t.generation).filter((g): g is number => g !== null);
      const gMax = gens.length ? Math.max(...gens) : 0;
      const colorOf = (t: TrialRow): string =>
        ui.colorBy === 'generation' && t.generation !== null ? seqColor(gMax > 0 ? t.generation / gMax : 0) : STATE_COLORS[t.state] ?? '#667085';
      const pts: ScatterPoint[] = done.map((t) => ({
        x: t.number,
        y: t.value!,
        color: colorOf(t),
        title: `trial ${t.number} · ${t.state} · ${metric} ${fmt(t.value, 3)}${t.generation !== null ? ` · gen ${t.generation}` : ''}`,
        onClick: () => (location.hash = `#/study/${id}/trial/${t.number}`),
      }));
      p1.append(
        h('h2', {}, `${metric} of every trial, and the best so far`),
        h('div', { class: 'controls' }, 'colour by ', colorSel, hasGen && ui.colorBy === 'generation' ? ` (${gMax + 1} generations)` : ''),
        scatter(pts, {
          width,
          height: 280,
          xLabel: 'trial number',
          yLabel: metric,
          robustY: true,
          lines: [{ points: complete.map((t, i) => ({ x: t.number, y: best[i]! })), color: '#111827', step: true, width: 2 }],
        }),
        h(
          'div',
          { class: 'legend' },
          ui.colorBy === 'state'
            ? (['complete', 'pruned'] as const).map((st) => h('span', {}, h('i', { style: `background:${STATE_COLORS[st]}` }), st))
            : [h('span', {}, h('i', { style: `background:${seqColor(0)}` }), 'gen 0'), h('span', {}, h('i', { style: `background:${seqColor(1)}` }), `gen ${gMax}`)],
          h('span', {}, h('i', { style: 'background:#111827;border-radius:0;height:3px' }), 'best so far'),
          trials.some((t) => t.state === 'failed') ? h('span', {}, `${trials.filter((t) => t.state === 'failed').length} failed trials have no value`) : null,
        ),
      );

      p2.append(h('h2', {}, `Best ${metric} so far vs wall-clock time`));
      const t0 = Math.min(...trials.map((t) => t.startedAt ?? Infinity));
      const timed = complete.map((t, i) => ({ t: t.finishedAt !== null && Number.isFinite(t0) ? (t.finishedAt - t0) / 1000 : null, b: best[i]! })).filter((x) => x.t !== null);
      if (timed.length === 0) p2.append(h('div', { class: 'empty' }, 'no finished trial yet'));
      else {
        const holder = h('div', {});
        p2.append(holder);
        const useMin = timed[timed.length - 1]!.t! > 600;
        charts.push(
          lineChart(
            holder,
            timed.map((x) => (useMin ? x.t! / 60 : x.t!)),
            [{ label: `best ${metric}`, color: PALETTE[0]!, values: timed.map((x) => x.b), step: true, points: true }],
            { width, height: 300, xLabel: useMin ? 'minutes since start' : 'seconds since start', yLabel: metric },
          ),
        );
      }

      renderPareto(p3, d, trials, width);
      renderImportance(p4, d, complete, dir, family);
    }

    function renderPareto(panel: HTMLElement, d: StudyDetail, trials: readonly TrialRow[], width: number): void {
      const names = d.metricNames;
      const objs = d.study.objectives;
      const costLike =
        ['latency_ms', 'params', 'flops', 'macs', 'params_m'].find((n) => names.includes(n) && n !== objs[0]?.metric) ??
        names.find((n) => /latency|params|flops|macs/i.test(n) && n !== objs[0]?.metric);
      if (!ui.px) ui.px = objs[1]?.metric ?? costLike ?? names.find((n) => n !== objs[0]?.metric) ?? names[0] ?? '';
      if (!ui.py) ui.py = objs[0]?.metric ?? names[0] ?? '';
      const dirOf = (m: string): Dir => objs.find((o) => o.metric === m)?.direction ?? guessDirection(m);
      const redraw = (): void => {
        clear(panel);
        renderPareto(panel, d, trials, width);
      };
      panel.append(
        h('h2', {}, 'Pareto front'),
        h(
          'div',
          { class: 'controls' },
          'x ',
          select(names, ui.px, (v) => ((ui.px = v), redraw())),
          h('span', { style: 'margin-right:14px' }, dirOf(ui.px) === 'maximize' ? '↑ better' : '↓ better'),
          'y ',
          select(names, ui.py, (v) => ((ui.py = v), redraw())),
          dirOf(ui.py) === 'maximize' ? '↑ better' : '↓ better',
        ),
      );
      const rows = trials.filter((t) => t.state === 'complete' && ui.px in t.metrics && ui.py in t.metrics);
      const xy = rows.map((t) => ({ x: t.metrics[ui.px]!, y: t.metrics[ui.py]! }));
      const front = paretoFront(xy, dirOf(ui.px), dirOf(ui.py));
      const onFront = new Set(front);
      const logX = xy.length > 0 && Math.min(...xy.map((p) => p.x)) > 0 && Math.max(...xy.map((p) => p.x)) / Math.min(...xy.map((p) => p.x)) > 50;
      panel.append(
        scatter(
          rows.map((t, i) => ({
            x: xy[i]!.x,
            y: xy[i]!.y,
            color: onFront.has(i) ? '#e8573d' : '#9db7ea',
            r: onFront.has(i) ? 5 : 3.5,
            title: `trial ${t.number}: ${ui.px} ${fmt(xy[i]!.x, 3)}, ${ui.py} ${fmt(xy[i]!.y, 3)}${onFront.has(i) ? ' (Pareto-optimal)' : ''}`,
            onClick: () => (location.hash = `#/study/${id}/trial/${t.number}`),
          })),
          { width, height: 280, xLabel: ui.px + (logX ? ' (log)' : ''), yLabel: ui.py, logX, robustY: true, lines: [{ points: front.map((i) => xy[i]!), color: '#e8573d', width: 1.5 }] },
        ),
        h('div', { class: 'legend' }, h('span', {}, h('i', { style: 'background:#e8573d' }), `Pareto-optimal (${front.length})`), h('span', {}, h('i', { style: 'background:#9db7ea' }), 'dominated')),
      );
    }

    function renderImportance(panel: HTMLElement, d: StudyDetail, complete: TrialRow[], dir: Dir, family: string | null): void {
      const metric = d.study.objectives[0]?.metric ?? 'value';
      const imp = importance(
        complete.map((t) => ({ params: t.params, value: t.value! })),
        dir,
      );
      panel.append(
        h('h2', {}, `What matters for ${metric}`),
        h('div', { class: 'sub', style: 'margin-bottom:8px' }, 'Share of the variance of the objective explained by each parameter (correlation ratio η² over complete trials). Click one for its values.'),
      );
      if (imp.length === 0) {
        panel.append(h('div', { class: 'empty' }, 'needs at least two complete trials with differing parameters'));
        return;
      }
      if (!ui.param || !imp.some((x) => x.name === ui.param)) ui.param = imp[0]!.name;
      const bars = h('div', { class: 'bars' });
      const detail = h('div', {});
      const show = (it: Importance): void => {
        ui.param = it.name;
        for (const b of bars.querySelectorAll('.bar')) b.classList.toggle('sel', (b as HTMLElement).dataset['name'] === it.name);
        clear(detail);
        detail.append(
          h('h2', { style: 'margin-top:12px' }, `${paramLabel(it.name, family)}: values ranked by mean ${metric}`),
          h(
            'table',
            { class: 'data' },
            h('thead', {}, h('tr', {}, h('th', {}, 'value'), h('th', { class: 'num' }, 'trials'), h('th', { class: 'num' }, `mean ${metric}`), h('th', { class: 'num' }, 'in top 20%'))),
            h(
              'tbody',
              {},
              it.groups.map((g) => h('tr', {}, h('td', {}, g.label), h('td', { class: 'num' }, g.count), h('td', { class: 'num' }, fmt(g.mean, 3)), h('td', { class: 'num' }, g.topCount))),
            ),
          ),
        );
      };
      for (const it of imp.slice(0, 10)) {
        const bar = h(
          'div',
          { class: 'bar', 'data-name': it.name, title: `η² = ${it.score.toFixed(3)}` },
          h('span', { class: 'name' }, paramLabel(it.name, family)),
          h('span', { class: 'track' }, h('span', { class: 'fill', style: `display:block;width:${Math.max(1, it.score * 100)}%` })),
          h('span', {}, it.score.toFixed(2)),
        );
        bar.addEventListener('click', () => show(it));
        bars.append(bar);
      }
      panel.append(bars, detail);
      show(imp.find((x) => x.name === ui.param) ?? imp[0]!);
    }

    void load();
    const off = onVersions((v) => {
      const nv = v[String(id)];
      if (nv !== undefined && nv !== version) void load();
    });
    return () => {
      disposed = true;
      off();
      for (const c of charts) c.destroy();
    };
  };
}

function stat(k: string, v: string | number, id?: string, href?: string): HTMLElement {
  const val = href ? h('a', { href }, String(v)) : String(v);
  return h('div', { class: 'stat', id: id ?? null }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, val));
}

function select(options: readonly string[], value: string, onChange: (v: string) => void, id?: string): HTMLSelectElement {
  const el = h('select', { id: id ?? null }, options.map((o) => h('option', { value: o }, o)));
  el.value = value;
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

/** Sequential colour for generations: amber (first) -> magenta -> indigo (last), like 'plasma'. */
function seqColor(t: number): string {
  const stops = [
    [0xf0, 0xa0, 0x30],
    [0xc2, 0x41, 0x7a],
    [0x3b, 0x2a, 0x98],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * f));
  return `rgb(${c.join(',')})`;
}

function familyOf(trials: readonly TrialRow[]): string | null {
  const p = trials[0]?.params;
  if (!p) return null;
  const keys = Object.keys(p);
  if (keys.filter((k) => /^ops\[\d\]$/.test(k)).length === 6) return 'nb201';
  if (keys.some((k) => k.startsWith('normal.'))) return 'darts';
  if (keys.some((k) => k.startsWith('layers['))) return 'chain_cnn';
  return null;
}

// ---- the trial table (server-side filtering, sorting and paging) ----

function trialTable(id: number): { el: HTMLElement; refresh: (d: StudyDetail) => Promise<void> } {
  const state = { sort: 'number', order: 'asc' as 'asc' | 'desc', states: '', q: '', offset: 0 };
  const PAGE = 50;
  const el = h('div', { class: 'panel' });
  const stateSel = h('select', { 'aria-label': 'state filter' }, ['', 'complete', 'pruned', 'failed', 'running', 'waiting'].map((s) => h('option', { value: s }, s || 'all states')));
  const search = h('input', { type: 'search', placeholder: 'filter params, e.g. nor_conv_3x3', size: 32, 'aria-label': 'parameter filter' });
  const info = h('span', {});
  const tableHolder = h('div', { style: 'overflow-x:auto' });
  const pager = h('div', { class: 'pager' });
  el.append(h('div', { class: 'controls' }, 'state ', stateSel, 'search ', search, info), tableHolder, pager);
  let detail: StudyDetail | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  stateSel.addEventListener('change', () => {
    state.states = stateSel.value;
    state.offset = 0;
    void fetchPage();
  });
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = search.value;
      state.offset = 0;
      void fetchPage();
    }, 200);
  });

  async function fetchPage(): Promise<void> {
    if (!detail) return;
    const qs = new URLSearchParams({ sort: state.sort, order: state.order, limit: String(PAGE), offset: String(state.offset) });
    if (state.states) qs.set('state', state.states);
    if (state.q) qs.set('q', state.q);
    const page = await getJson<TrialPage>(`/api/studies/${id}/trials?${qs.toString()}`);
    render(detail, page);
  }

  function render(d: StudyDetail, page: TrialPage): void {
    const objMetric = d.study.objectives[0]?.metric;
    // Costs first (params, FLOPs, latency), then the other metrics; per-device latencies last.
    const rank = (m: string): number => {
      const i = ['params', 'params_m', 'flops', 'macs', 'latency_ms', 'test_acc', 'val_loss', 'train_loss'].indexOf(m);
      return i >= 0 ? i : /^latency_.+_ms$/.test(m) ? 100 : 50;
    };
    const metricCols = d.metricNames
      .filter((m) => m !== objMetric)
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
      .slice(0, 7);
    const family = page.trials.length ? familyOf(page.trials as TrialRow[]) : null;
    const cols: { key: string; label: string; num: boolean; cell: (t: TrialRow) => Node | string }[] = [
      { key: 'number', label: '#', num: true, cell: (t) => String(t.number) },
      { key: 'state', label: 'state', num: false, cell: (t) => h('span', { class: `badge ${t.state}` }, t.state) },
      { key: 'value', label: objMetric ?? 'value', num: true, cell: (t) => fmt(t.value, 3) },
      ...metricCols.map((m) => ({ key: `metric:${m}`, label: m, num: true, cell: (t: TrialRow) => fmt(t.metrics[m], 3) })),
      { key: 'duration', label: 'duration', num: true, cell: (t) => fmtDuration(t.durationMs) },
      { key: '', label: 'architecture / params', num: false, cell: (t) => archSummary(t, family) },
    ];
    clear(tableHolder);
    const thead = h(
      'tr',
      {},
      cols.map((c) => {
        const th = h('th', { class: `${c.num ? 'num ' : ''}${c.key ? 'sortable' : ''}${state.sort === c.key ? ` sorted ${state.order}` : ''}`, 'data-key': c.key }, c.label);
        if (c.key) {
          th.addEventListener('click', () => {
            if (state.sort === c.key) state.order = state.order === 'asc' ? 'desc' : 'asc';
            else {
              state.sort = c.key;
              state.order = c.key === 'value' && d.study.objectives[0]?.direction !== 'minimize' ? 'desc' : 'asc';
            }
            state.offset = 0;
            void fetchPage();
          });
        }
        return th;
      }),
    );
    const rows = page.trials.map((t) => {
      const tr = h('tr', { class: 'click', 'data-trial': t.number }, cols.map((c) => h('td', { class: c.num ? 'num' : c.key === '' ? 'arch' : '' }, c.cell(t as TrialRow))));
      tr.addEventListener('click', () => (location.hash = `#/study/${id}/trial/${t.number}`));
      return tr;
    });
    tableHolder.append(h('table', { class: 'data', id: 'trial-table' }, h('thead', {}, thead), h('tbody', {}, rows)));
    info.textContent = `${page.total} matching trial${page.total === 1 ? '' : 's'}`;
    clear(pager);
    if (page.total > PAGE) {
      const prev = h('button', {}, '‹ prev');
      const next = h('button', {}, 'next ›');
      prev.disabled = state.offset === 0;
      next.disabled = state.offset + PAGE >= page.total;
      prev.addEventListener('click', () => ((state.offset = Math.max(0, state.offset - PAGE)), void fetchPage()));
      next.addEventListener('click', () => ((state.offset += PAGE), void fetchPage()));
      pager.append(prev, `${state.offset + 1}–${Math.min(page.total, state.offset + PAGE)} of ${page.total}`, next);
    }
  }

  return {
    el,
    async refresh(d) {
      detail = d;
      await fetchPage();
    },
  };
}

function archSummary(t: TrialRow, family: string | null): string {
  const p = t.params;
  if (family === 'nb201') return [0, 1, 2, 3, 4, 5].map((i) => String(p[`ops[${i}]`] ?? '?')).join(' ');
  return Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}
