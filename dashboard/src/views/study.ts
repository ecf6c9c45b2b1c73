import { finalTables } from '../../../src/report/final-table.js';
import type uPlot from 'uplot';
import { earlyJson, getJson, onVersions } from '../api.js';
import { clear, fmt, fmtDuration, fmtMetric, h, PALETTE, STATE_COLORS, supernetBadge } from '../dom.js';
import { chooseMetricColumns } from '../../../src/report/columns.js';
import { wantsLog, type Dir } from '../analysis.js';
import { scatter, type ScatterPoint } from '../scatter.js';
import { alphaHeatmaps, parallelCoordinates, slicePlot, timeline, timelineCaption } from '../../../src/report/plot/charts.js';
import { drawArch } from '../archgraph.js';
import { lineChart } from '../lines.js';
import { paramLabel } from '../labels.js';
import type { OneShotView, ImportanceItem, ParetoSeries, SeriesPoint, StudyDetail, StudyHead, StudyOverview, StudySeries, StudySummary, TrialChart, TrialPage, TrialRow } from '../types.js';

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
    const ui = { colorBy: 'state', px: '', py: '', param: '', slice: '' };
    // The detail and series drawn now (a partial series until the full one arrives), the panels
    // that need the trials' parameters, and a counter that stops a superseded render.
    let shown: { d: StudyDetail; sr: StudySeries } | null = null;
    let paramPanels: { imp: HTMLElement; par: HTMLElement; slice: HTMLElement } | null = null;
    let renders = 0;

    async function load(): Promise<void> {
      if (loading) return;
      loading = true;
      try {
        if (table) {
          const detail = await getJson<StudyDetail>(`/api/studies/${id}`);
          if (disposed) return;
          version = detail.version;
          renderHead(detail.study);
          await table.refresh(detail);
          return;
        }
        // On the first load the head comes first (the summary and the first chart: on a study
        // the server has not read yet, the first step of its columnar read), then the overview
        // (every other chart, which the server computes while this draws the first row). The
        // overview is asked for once the head is in, so they do not compete for the server. A
        // live update asks for the overview only, and the charts on the page stay until it has
        // come. (An overview that is not `complete` is followed by the detail and series; this
        // server always answers complete ones.)
        const osP = getJson<{ oneshot: OneShotView | null }>(`/api/studies/${id}/oneshot`);
        osP.catch(() => undefined);
        let first: { version: string } | null = null;
        if (shown === null) {
          // asked for by the page's first script when the page was opened on this view
          const hd = await earlyJson<StudyHead>(`/api/studies/${id}/head`);
          // User Timing marks (devtools' performance panel; the dashboard bench splits its time with them)
          performance.mark('tsnas:head-parsed');
          if (disposed) return;
          version = hd.version;
          renderHead(hd.study);
          if (renderFirst(hd.study, hd.chart)) first = { version: hd.version };
          performance.mark('tsnas:first-row-built');
        }
        const ov = await getJson<StudyOverview>(`/api/studies/${id}/overview`);
        performance.mark('tsnas:overview-parsed');
        if (disposed) return;
        version = ov.detail.version;
        renderHead(ov.detail.study);
        // The same version: the first row drawn from the head is the overview's (the same points).
        const drawn = renderOverview(ov.detail, ov.series, first !== null && first.version === ov.detail.version);
        const fullP = ov.complete ? null : Promise.all([getJson<StudyDetail>(`/api/studies/${id}`), getJson<StudySeries>(`/api/studies/${id}/series`)]);
        fullP?.catch(() => undefined);
        await drawn;
        const os = await osP;
        if (disposed) return;
        if (os.oneshot) body.prepend(oneShotPanel(id, os.oneshot, Math.max(320, body.clientWidth - 34)), h('div', { class: 'row-gap' }));
        if (fullP) {
          const [detail, series] = await fullP;
          if (disposed) return;
          renderHead(detail.study);
          shown = { d: detail, sr: series };
          if (paramPanels) renderParamPanels(detail, series, paramPanels);
        }
      } catch (e) {
        clear(body);
        body.append(h('div', { class: 'err' }, String(e instanceof Error ? e.message : e)));
      } finally {
        loading = false;
      }
    }

    function renderHead(s: StudySummary): void {
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
          stat(s.objectives.length > 1 ? `Best ${obj?.metric ?? ''} alone (1 of ${s.objectives.length} objectives)` : `Best ${obj?.metric ?? ''}`, s.best ? `${fmt(s.best.value, 3)}` : '–', 'stat-best', s.best ? `#/study/${id}/trial/${s.best.number}` : undefined),
          // Not 'Elapsed': created-to-last-update spans the gaps between resumed runs (new user 11).
          ...(s.searchSeconds !== null ? [stat('Search time (all runs)', fmtDuration(s.searchSeconds * 1000))] : []),
          stat('Created to last update', fmtDuration(elapsed)),
        ),
      );
    }

    /**
     * Draws the first row (the trial chart and the best so far over time) into a cleared body, or
     * the empty state of a study without trials; false when there is nothing more to draw.
     */
    function renderFirst(study: StudySummary, sr: TrialChart): boolean {
      renders++;
      paramPanels = null;
      for (const c of charts.splice(0)) c.destroy();
      clear(body);
      const metric = study.objectives[0]?.metric ?? 'value';
      const goto = (n: number): void => {
        location.hash = `#/study/${id}/trial/${n}`;
      };
      if (sr.total === 0) {
        body.append(h('div', { class: 'panel empty', id: 'study-empty' }, 'This study has no trial yet. Charts appear as soon as the first trial finishes.'));
        return false;
      }
      if (sr.withValue === 0) {
        body.append(
          h(
            'div',
            { class: 'panel empty', id: 'study-novalue' },
            `None of the ${sr.total} trials has a finite ${metric} yet (${study.counts.failed} failed, ${study.counts.running + study.counts.waiting} running or waiting). The trial table lists them with their messages.`,
          ),
          h('div', { class: 'row-gap' }),
        );
      }

      // 1. every trial's value vs trial number, with best-so-far
      const p1 = h('div', { class: 'panel', id: 'chart-trials' });
      const hasGen = sr.maxGeneration !== null;
      if (!hasGen) ui.colorBy = 'state';
      const colorSel = select(hasGen ? ['state', 'generation'] : ['state'], ui.colorBy, (v) => {
        ui.colorBy = v;
        if (shown) void renderOverview(shown.d, shown.sr, false);
        else renderFirst(study, sr);
      }, 'color-by');
      const p2 = h('div', { class: 'panel', id: 'chart-time' });
      body.append(h('div', { class: 'grid2', id: 'first-row' }, p1, p2));
      const width = Math.max(320, p1.clientWidth - 34);

      const gMax = sr.maxGeneration ?? 0;
      const colorOf = (t: SeriesPoint): string =>
        ui.colorBy === 'generation' && t.generation !== null ? seqColor(gMax > 0 ? t.generation / gMax : 0) : STATE_COLORS[t.state] ?? '#667085';
      const pts: ScatterPoint[] = sr.points.map((t) => ({
        x: t.number,
        y: t.value,
        color: colorOf(t),
        title: `trial ${t.number} · ${t.state} · ${metric} ${fmt(t.value, 3)}${t.generation !== null ? ` · gen ${t.generation}` : ''}`,
        onClick: () => goto(t.number),
      }));
      const bestLine = sr.best.map((b) => ({ x: b.number, y: b.best }));
      p1.append(
        h('h2', {}, `${metric} of every trial, and the best so far`),
        h('div', { class: 'controls' }, 'colour by ', colorSel, hasGen && ui.colorBy === 'generation' ? ` (${gMax + 1} generations)` : ''),
        scatter(pts, { width, height: 280, xLabel: 'trial number', yLabel: metric, robustY: true, lines: [{ points: bestLine, color: '#111827', step: true, width: 2 }] }),
        h(
          'div',
          { class: 'legend' },
          ui.colorBy === 'state'
            ? (['complete', 'pruned'] as const).map((st) => h('span', {}, h('i', { style: `background:${STATE_COLORS[st]}` }), st))
            : [h('span', {}, h('i', { style: `background:${seqColor(0)}` }), 'gen 0'), h('span', {}, h('i', { style: `background:${seqColor(1)}` }), `gen ${gMax}`)],
          h('span', {}, h('i', { style: 'background:#111827;border-radius:0;height:3px' }), 'best so far'),
          study.counts.failed ? h('span', {}, `${study.counts.failed} failed trials have no value`) : null,
        ),
        sr.sampled
          ? h('div', { class: 'sample-note sub', id: 'sample-note' }, `Showing ${sr.points.length.toLocaleString('en-US')} of ${sr.withValue.toLocaleString('en-US')} trials (evenly sampled; every best-so-far improvement is kept, and the Pareto chart keeps every Pareto-optimal trial). The best-so-far line, fronts and statistics use all trials.`)
          : '',
      );

      p2.append(h('h2', {}, `Best ${metric} so far vs wall-clock time`));
      const timed = sr.best.filter((b) => b.t !== null);
      if (timed.length === 0) p2.append(h('div', { class: 'empty' }, 'no finished trial yet'));
      else {
        const holder = h('div', {});
        p2.append(holder);
        const useMin = timed[timed.length - 1]!.t! > 600;
        charts.push(
          lineChart(
            holder,
            timed.map((x) => (useMin ? x.t! / 60 : x.t!)),
            [{ label: `best ${metric}`, color: PALETTE[0]!, values: timed.map((x) => x.best), step: true, points: timed.length < 200 }],
            { width, height: 300, xLabel: useMin ? 'minutes since start' : 'seconds since start', yLabel: metric },
          ),
        );
      }
      return true;
    }

    /**
     * Draws the overview: the first row (unless `keepFirst`: the row drawn from the head is this
     * version's), then, after the browser has painted it, the rest one row per task.
     */
    async function renderOverview(d: StudyDetail, sr: StudySeries, keepFirst: boolean): Promise<void> {
      if (!keepFirst && !renderFirst(d.study, sr)) {
        shown = { d, sr };
        return;
      }
      const my = ++renders;
      shown = { d, sr };
      paramPanels = null;
      const dir: Dir = d.study.objectives[0]?.direction ?? 'maximize';
      if (sr.finalResults) body.prepend(finalPanel(sr), h('div', { class: 'row-gap' }));
      const firstRow = body.querySelector<HTMLElement>('#first-row')!;
      const p3 = h('div', { class: 'panel', id: 'chart-pareto' });
      const p4 = h('div', { class: 'panel', id: 'importance' });
      body.append(h('div', { class: 'row-gap' }), h('div', { class: 'grid2' }, p3, p4));
      const width = Math.max(320, (firstRow.firstElementChild as HTMLElement).clientWidth - 34);
      const metric = d.study.objectives[0]?.metric ?? 'value';

      // Let the first row paint before the other charts are built (when drawn just now: a row
      // kept from the head was painted already, so no frame is waited for).
      if (!keepFirst) {
        await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        if (disposed || my !== renders) return;
      }
      // Then one row per task: the page answers input (and paints) between them instead of
      // building every chart of a 20,000-trial study in one long task.
      const stale = async (): Promise<boolean> => {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        return disposed || my !== renders;
      };
      renderPareto(p3, d, sr.pareto, width);
      if (await stale()) return;

      // 3. distribution, hypervolume, timeline, parallel coordinates, slices
      const p5 = h('div', { class: 'panel', id: 'chart-edf' }, h('h2', {}, `Empirical distribution of ${metric}`));
      const p6 = h('div', { class: 'panel', id: 'chart-hv' }, h('h2', {}, 'Hypervolume history'));
      body.append(h('div', { class: 'row-gap' }), h('div', { class: 'grid2' }, p5, p6));
      if (sr.edf.n === 0) p5.append(h('div', { class: 'empty' }, `no complete trial with a finite ${metric} yet`));
      else {
        const logX = wantsLog(sr.edf.points.map((p) => p.x));
        p5.append(
          scatter([], {
            width,
            height: 260,
            xLabel: metric + (logX ? ' (log)' : ''),
            yLabel: 'share of complete trials ≤ x',
            logX,
            lines: [{ points: sr.edf.points, color: PALETTE[0]!, step: true }],
          }),
          h('div', { class: 'sub' }, `over all ${sr.edf.n.toLocaleString('en-US')} complete trials${sr.edf.points.length < sr.edf.n ? ` (drawn through ${sr.edf.points.length} evenly spaced ranks)` : ''}; ${dir === 'maximize' ? 'further right is better' : 'further left is better'}`),
        );
      }
      if (!sr.hypervolume) p6.append(h('div', { class: 'empty' }, d.study.objectives.length < 2 ? 'single-objective study: hypervolume needs two or more objectives' : 'no complete trial with every objective value yet'));
      else {
        const hv = sr.hypervolume;
        p6.append(
          scatter([], { width, height: 260, xLabel: 'trial number', yLabel: `hypervolume (${hv.metrics.join(' × ')})`, lines: [{ points: hv.history.map((p) => ({ x: p.number, y: p.hv })), color: PALETTE[2]!, step: true }] }),
          h('div', { class: 'sub', id: 'hv-caption' }, hv.caption),
          ...(hv.warning ? [h('div', { class: 'warn' }, `warning: ${hv.warning}`)] : []),
        );
      }

      if (await stale()) return;
      const p7 = h('div', { class: 'panel', id: 'chart-timeline' }, h('h2', {}, 'Timeline of trials per worker'));
      body.append(h('div', { class: 'row-gap' }), p7);
      const fullWidth = Math.max(320, p7.clientWidth - 34);
      p7.append(
        timeline(sr.timeline, { width: fullWidth }),
        h(
          'div',
          { class: 'legend' },
          (['complete', 'pruned', 'failed', 'running'] as const).map((st) => h('span', {}, h('i', { style: `background:${STATE_COLORS[st]}` }), st)),
          h('span', {}, 'outlined: re-run after a lost lease'),
        ),
        h('div', { class: 'sub', id: 'timeline-note' }, timelineCaption(sr.timeline)),
      );

      if (await stale()) return;
      const p8 = h('div', { class: 'panel', id: 'chart-parallel' });
      const p9 = h('div', { class: 'panel', id: 'chart-slice' });
      body.append(h('div', { class: 'row-gap' }), p8, h('div', { class: 'row-gap' }), p9);
      paramPanels = { imp: p4, par: p8, slice: p9 };
      renderParamPanels(d, sr, paramPanels);
    }

    /** Importance, parallel coordinates and slices: the charts that need the trials' parameters. */
    function renderParamPanels(d: StudyDetail, sr: StudySeries, ps: { imp: HTMLElement; par: HTMLElement; slice: HTMLElement }): void {
      const metric = d.study.objectives[0]?.metric ?? 'value';
      const dir: Dir = d.study.objectives[0]?.direction ?? 'maximize';
      const goto = (n: number): void => {
        location.hash = `#/study/${id}/trial/${n}`;
      };
      const { imp: p4, par: p8, slice: p9 } = ps;
      for (const p of [p4, p8, p9]) clear(p);
      p8.append(h('h2', {}, 'Parallel coordinates'));
      p9.append(h('h2', {}, `Slice: ${metric} against one parameter`));
      if (sr.partial) {
        const wait = `reading the architectures of all ${sr.total.toLocaleString('en-US')} trials…`;
        p4.append(h('h2', {}, `What matters for ${metric}`), h('div', { class: 'sub pending' }, wait));
        p8.append(h('div', { class: 'sub pending' }, wait));
        p9.append(h('div', { class: 'sub pending' }, wait));
        return;
      }
      renderImportance(p4, d, sr, family(d));
      const fullWidth = Math.max(320, p8.clientWidth - 34);
      const objNames = d.study.objectives.map((o) => o.metric);
      const sliceNote = sr.sliceRows.length < d.study.counts.complete ? ` (${sr.sliceRows.length.toLocaleString('en-US')} of ${d.study.counts.complete.toLocaleString('en-US')} complete trials, evenly sampled)` : '';
      if (sr.sliceParams.length === 0) {
        p8.append(h('div', { class: 'empty' }, 'needs complete trials whose parameters differ'));
        p9.append(h('div', { class: 'empty' }, 'needs complete trials whose parameters differ'));
      } else {
        const fam = family(d);
        p8.append(
          parallelCoordinates(
            [...sr.sliceParams.map((p) => paramLabel(p, fam)), ...objNames],
            sr.sliceRows.map((r) => ({ number: r.number, cells: [...r.params, ...r.objectives] })),
            { width: fullWidth, height: 320, dir: d.study.objectives[objNames.length - 1]?.direction ?? dir, onClick: goto },
          ),
          h('div', { class: 'sub' }, `the ${sr.sliceParams.length} most important parameters (PED-ANOVA) and the objectives; darker = better ${objNames[objNames.length - 1] ?? metric}${sliceNote}`),
        );
        if (!ui.slice || !sr.sliceParams.includes(ui.slice)) ui.slice = sr.sliceParams[0]!;
        const holder = h('div', {});
        const draw = (): void => {
          clear(holder);
          const j = sr.sliceParams.indexOf(ui.slice);
          holder.append(
            slicePlot(
              paramLabel(ui.slice, fam),
              sr.sliceRows.map((r) => r.params[j] ?? null),
              sr.sliceRows.map((r) => r.value),
              sr.sliceRows.map((r) => r.number),
              { width: fullWidth, height: 280, yLabel: metric, onClick: goto },
            ),
          );
        };
        p9.append(h('div', { class: 'controls' }, 'parameter ', select(sr.sliceParams, ui.slice, (v) => ((ui.slice = v), draw()), 'slice-param')), holder, h('div', { class: 'sub' }, sliceNote.trim()));
        draw();
      }
    }

    function renderPareto(panel: HTMLElement, d: StudyDetail, initial: ParetoSeries | null, width: number): void {
      const names = d.metricNames;
      panel.append(h('h2', {}, 'Pareto front'));
      if (!initial || names.length < 2) {
        panel.append(h('div', { class: 'empty' }, 'needs two metrics reported by complete trials'));
        return;
      }
      if (!ui.px || !names.includes(ui.px)) ui.px = initial.x;
      if (!ui.py || !names.includes(ui.py)) ui.py = initial.y;
      const holder = h('div', {});
      const controls = h('div', { class: 'controls' });
      panel.append(controls, holder);
      const draw = (pr: ParetoSeries): void => {
        clear(controls);
        clear(holder);
        controls.append(
          'x ',
          select(names, ui.px, (v) => ((ui.px = v), void refetch())),
          h('span', { style: 'margin-right:14px' }, pr.dirX === 'maximize' ? '↑ better' : '↓ better'),
          'y ',
          select(names, ui.py, (v) => ((ui.py = v), void refetch())),
          pr.dirY === 'maximize' ? '↑ better' : '↓ better',
        );
        const all = [...pr.others.map((p) => ({ ...p, front: false })), ...pr.front.map((p) => ({ ...p, front: true }))];
        const logX = wantsLog(all.map((p) => p.x));
        holder.append(
          scatter(
            all.map((p) => ({
              x: p.x,
              y: p.y,
              color: p.front ? '#e8573d' : '#9db7ea',
              r: p.front ? 5 : 3.5,
              title: `trial ${p.number}: ${pr.x} ${fmt(p.x, 3)}, ${pr.y} ${fmt(p.y, 3)}${p.front ? ' (Pareto-optimal)' : ''}`,
              onClick: () => (location.hash = `#/study/${id}/trial/${p.number}`),
            })),
            { width, height: 280, xLabel: pr.x + (logX ? ' (log)' : ''), yLabel: pr.y, logX, robustY: true, lines: [{ points: pr.front, color: '#e8573d', width: 1.5 }] },
          ),
          h(
            'div',
            { class: 'legend' },
            h('span', {}, h('i', { style: 'background:#e8573d' }), `Pareto-optimal (${pr.front.length})`),
            h('span', {}, h('i', { style: 'background:#9db7ea' }), 'dominated'),
            h('span', {}, `front over all ${pr.of.toLocaleString('en-US')} complete trials${pr.sampled ? `; ${pr.others.length.toLocaleString('en-US')} dominated ones drawn (sampled)` : ''}`),
          ),
        );
        if (pr.of === 0) holder.append(h('div', { class: 'empty' }, `no complete trial reports both ${pr.x} and ${pr.y}`));
      };
      const refetch = async (): Promise<void> => {
        const pr = await getJson<ParetoSeries>(`/api/studies/${id}/pareto?x=${encodeURIComponent(ui.px)}&y=${encodeURIComponent(ui.py)}`);
        if (!disposed) draw(pr);
      };
      if (initial.x === ui.px && initial.y === ui.py) draw(initial);
      else void refetch();
    }

    function renderImportance(panel: HTMLElement, d: StudyDetail, sr: StudySeries, fam: string | null): void {
      const metric = d.study.objectives[0]?.metric ?? 'value';
      const imp = sr.importance;
      panel.append(
        h('h2', {}, `What matters for ${metric}`),
        h('div', { class: 'sub', style: 'margin-bottom:8px' }, 'Parameters ranked by PED-ANOVA (how differently the top 10% of complete trials use a parameter than all trials; Watanabe et al. 2023), with η² (share of variance explained). Click one for its values.'),
      );
      if (imp.length === 0) {
        panel.append(h('div', { class: 'empty' }, 'needs at least four complete trials with differing parameters'));
        return;
      }
      if (!ui.param || !imp.some((x) => x.name === ui.param)) ui.param = imp[0]!.name;
      const bars = h('div', { class: 'bars' });
      const detail = h('div', {});
      const top = Math.max(...imp.map((x) => x.ped), 1e-12);
      const show = (it: ImportanceItem): void => {
        ui.param = it.name;
        for (const b of bars.querySelectorAll('.bar')) b.classList.toggle('sel', (b as HTMLElement).dataset['name'] === it.name);
        clear(detail);
        detail.append(
          h('h2', { style: 'margin-top:12px' }, `${paramLabel(it.name, fam)}: values ranked by mean ${metric} (η² ${it.eta2.toFixed(3)})`),
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
          { class: 'bar', 'data-name': it.name, title: `PED-ANOVA ${it.ped.toFixed(4)} · η² ${it.eta2.toFixed(3)}` },
          h('span', { class: 'name' }, paramLabel(it.name, fam)),
          h('span', { class: 'track' }, h('span', { class: 'fill', style: `display:block;width:${Math.max(1, (it.ped / top) * 100)}%` })),
          h('span', {}, it.ped.toFixed(3)),
        );
        bar.addEventListener('click', () => show(it));
        bars.append(bar);
      }
      panel.append(bars, detail);
      if (imp.length > 10) panel.append(h('div', { class: 'sub' }, `top 10 of ${imp.length} parameters`));
      const complete = sr.edf.n;
      if (sr.importanceOver < complete) panel.append(h('div', { class: 'sub', id: 'importance-over' }, `over ${sr.importanceOver.toLocaleString('en-US')} of the ${complete.toLocaleString('en-US')} complete trials: recomputed whenever they grow by 1%`));
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

/** The space family, from the study's parameter names. */
function family(d: StudyDetail): string | null {
  const keys = d.paramNames;
  if (keys.filter((k) => /^ops\[\d\]$/.test(k)).length === 6) return 'nb201';
  if (keys.some((k) => k.startsWith('normal.'))) return 'darts';
  if (keys.some((k) => k.startsWith('layers['))) return 'chain_cnn';
  return null;
}

/** One-shot studies: alpha of every edge over the supernet epochs, beside the derived cell. */
function oneShotPanel(id: number, os: OneShotView, width: number): HTMLElement {
  const panel = h('div', { class: 'panel', id: 'oneshot' }, h('h2', {}, `One-shot search: ${os.method}${os.guard && os.guard !== 'none' ? ` (guard: ${os.guard})` : ''}`));
  const left = h('div', { id: 'alpha' });
  const right = h('div', { id: 'derived' });
  panel.append(
    h(
      'div',
      { class: 'sub' },
      h('a', { href: `#/study/${id}/trial/${os.searchTrial}` }, `supernet search (trial ${os.searchTrial}${os.searchState ? `, ${os.searchState}` : ''})`),
      os.derivedTrial !== null ? [' · ', h('a', { href: `#/study/${id}/trial/${os.derivedTrial}` }, `derived architecture retrained (trial ${os.derivedTrial})`)] : null,
    ),
    h('div', { class: 'grid2' }, left, right),
  );
  if (os.indecision) panel.insertBefore(h('div', { class: 'warn', id: 'indecision' }, `warning: ${os.indecision}`), panel.lastChild);
  if (os.alpha) left.append(h('h2', {}, 'softmax(alpha) per edge over epochs'), alphaHeatmaps(os.alpha, { width: Math.max(320, width / 2 - 20) }));
  else left.append(h('div', { class: 'empty' }, `${os.method} keeps no architecture weights (alpha): paths are sampled uniformly`));
  right.append(h('h2', {}, 'Derived cell'));
  const svg = os.derived ? drawArch(os.derived) : null;
  if (svg) {
    svg.setAttribute('width', '100%');
    right.append(svg);
  } else right.append(h('div', { class: 'empty' }, os.derived ? JSON.stringify(os.derived) : 'not derived yet'));
  return panel;
}

/** Final results (retraining, baseline, export) recorded in the study's attributes. */
function finalPanel(sr: StudySeries): HTMLElement {
  const fr = sr.finalResults!;
  return h(
    'div',
    { class: 'panel', id: 'final-results' },
    h('h2', {}, 'Final results (after the search)'),
    h(
      'div',
      { class: 'grid2' },
      // One table per section, a row per model (src/report/final-table.ts), not raw `final_x.field` keys.
      finalTables(fr.sections).map((t) =>
        h(
          'div',
          {},
          h('div', { class: 'sub', style: 'font-weight:600' }, t.title),
          ...(t.rows.length
            ? [
                h(
                  'table',
                  { class: 'data' },
                  h('thead', {}, h('tr', {}, h('th', {}, ''), ...t.columns.map((c) => h('th', {}, c)))),
                  h('tbody', {}, ...t.rows.map((r) => h('tr', {}, h('th', {}, r.name), ...r.cells.map((c) => h('td', {}, c))))),
                ),
              ]
            : []),
          ...(t.plain.length ? [h('div', { class: 'kv' }, t.plain.flatMap((r) => [h('span', { class: 'k' }, r.key), h('span', {}, r.value)]))] : []),
        ),
      ),
    ),
  );
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
  const search = h('input', {
    type: 'search',
    placeholder: 'filter: name=value, lr<0.01, val_acc>=90, ops[*]=nor_conv_3x3, or text',
    size: 48,
    'aria-label': 'trial filter',
    id: 'trial-filter',
    title: 'Space-separated terms, all must hold: name=value, name!=value, name<n, name<=n, name>n, name>=n on a parameter or metric (* in a name matches any characters; numbers compare as numbers, text ignoring case), state=failed, or a word found in the parameters',
  });
  const info = h('span', { id: 'trial-info' });
  const colPick = h('select', { 'aria-label': 'add a parameter column', id: 'add-column' });
  const tableHolder = h('div', { style: 'overflow-x:auto' });
  const pager = h('div', { class: 'pager' });
  el.append(h('div', { class: 'controls' }, 'state ', stateSel, ' ', search, ' ', colPick, ' ', info), tableHolder, pager);
  let detail: StudyDetail | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Parameter columns shown (sortable on the server): remembered per study in this browser.
  const colsKey = `tsnas.columns.${id}`;
  let paramCols: string[] | null = null;
  try {
    const saved = JSON.parse(localStorage.getItem(colsKey) ?? 'null') as unknown;
    if (Array.isArray(saved)) paramCols = saved.filter((x): x is string => typeof x === 'string');
  } catch {
    paramCols = null;
  }
  const saveCols = (): void => {
    try {
      localStorage.setItem(colsKey, JSON.stringify(paramCols));
    } catch {
      // private mode: columns are not remembered
    }
  };
  colPick.addEventListener('change', () => {
    if (!colPick.value || !paramCols) return;
    paramCols.push(colPick.value);
    saveCols();
    void fetchPage();
  });
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
    }, 250);
  });

  async function fetchPage(): Promise<void> {
    if (!detail) return;
    const qs = new URLSearchParams({ sort: state.sort, order: state.order, limit: String(PAGE), offset: String(state.offset) });
    if (state.states) qs.set('state', state.states);
    if (state.q) qs.set('q', state.q);
    let page: TrialPage;
    try {
      page = await getJson<TrialPage>(`/api/studies/${id}/trials?${qs.toString()}`);
    } catch (e) {
      // a bad filter (unknown name, `<` on text): say why and keep the last page
      info.textContent = e instanceof Error ? e.message : String(e);
      info.className = 'filter-error';
      return;
    }
    info.className = '';
    render(detail, page);
  }

  function render(d: StudyDetail, page: TrialPage): void {
    const objMetric = d.study.objectives[0]?.metric;
    // The report's rule (src/report/columns.ts): objectives and tie-break, test/val metrics, costs;
    // a per-device latency that copies latency_ms on this page is dropped.
    const metricCols = chooseMetricColumns(d.metricNames, d.study.objectives, { tieBreak: d.study.objectives[0]?.tieBreak?.metric ?? null, max: 7, rows: page.trials.map((t) => t.metrics) });
    const family = page.trials.length ? familyOf(page.trials as TrialRow[]) : null;
    // Default parameter columns: all of them when there are few (NB201's six edges, an MLP's
    // hyperparameters); none for wide spaces (DARTS: 32), where the picker adds the ones wanted.
    if (paramCols === null) paramCols = d.paramNames.length <= 8 ? [...d.paramNames] : [];
    paramCols = paramCols.filter((p) => d.paramNames.includes(p));
    const shown = paramCols;
    clear(colPick);
    colPick.append(
      h('option', { value: '' }, '+ parameter column'),
      ...d.paramNames.filter((p) => !shown.includes(p)).map((p) => h('option', { value: p }, paramLabel(p, family))),
    );
    colPick.value = '';
    colPick.disabled = d.paramNames.length === shown.length;
    const removeCol = (p: string): void => {
      paramCols = shown.filter((x) => x !== p);
      saveCols();
      if (state.sort === `param:${p}`) state.sort = 'number';
      void fetchPage();
    };
    const cols: { key: string; label: string; num: boolean; cell: (t: TrialRow) => Node | string; remove?: () => void }[] = [
      { key: 'number', label: '#', num: true, cell: (t) => String(t.number) },
      { key: 'state', label: 'state', num: false, cell: (t) => h('span', {}, h('span', { class: `badge ${t.state}` }, t.state), t.supernet ? supernetBadge() : null) },
      { key: 'value', label: objMetric ?? 'value', num: true, cell: (t) => (t.supernet ? 'not a candidate' : fmt(t.value, 3)) },
      ...metricCols.map((m) => ({ key: `metric:${m}`, label: m, num: true, cell: (t: TrialRow) => fmtMetric(m, t.metrics[m], 3) })),
      { key: 'duration', label: 'duration', num: true, cell: (t) => fmtDuration(t.durationMs) },
      ...shown.map((p) => ({
        key: `param:${p}`,
        label: paramLabel(p, family),
        num: false,
        cell: (t: TrialRow): string => {
          const v = t.params[p];
          return v === undefined || v === null ? '–' : typeof v === 'number' ? fmt(v, 4) : String(v);
        },
        remove: () => removeCol(p),
      })),
      { key: '', label: 'architecture / params', num: false, cell: (t) => archSummary(t, family) },
    ];
    clear(tableHolder);
    const thead = h(
      'tr',
      {},
      cols.map((c) => {
        const th = h('th', { class: `${c.num ? 'num ' : ''}${c.key ? 'sortable' : ''}${c.remove ? ' param-col' : ''}${state.sort === c.key ? ` sorted ${state.order}` : ''}`, 'data-key': c.key }, c.label);
        if (c.remove) {
          const x = h('button', { class: 'col-remove', title: `remove the ${c.label} column`, 'aria-label': `remove column ${c.label}` }, '×');
          x.addEventListener('click', (ev) => {
            ev.stopPropagation();
            c.remove!();
          });
          th.append(x);
        }
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
