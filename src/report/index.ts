/**
 * Static study reports: one self-contained HTML file (inline SVG and CSS, no script, nothing
 * fetched from anywhere) to hand to colleagues without a server, and optionally each plot as a PNG.
 *
 *   await writeStudyReport({ storage: 'sqlite:./tsnas.db', study: 'fmnist-main', out: 'report.html' });
 *   await writeStudyReport({ store, study: rec.id, out: 'report.html', pngDir: 'plots/' });
 *
 * Contents: summary (strategy, space, evaluator, objectives, trial counts, best, elapsed), the final
 * results recorded in the study's user attributes (retraining, baseline, export path), fitness of
 * every trial with the best so far, best so far vs time, the Pareto front, parameter importance
 * (PED-ANOVA ranks), the objective's distribution, hypervolume history (any number of objectives), the
 * timeline per worker, parallel coordinates, the winner's architecture drawn and its learning
 * curves grouped by metric kind, and the trial table (the best `tableRows` trials by value).
 * The plots are the dashboard's own drawing code (src/report/plot), run against a linkedom
 * document; charts over many trials sample the drawn marks exactly as the dashboard does, and say so.
 *
 * PNGs are rendered from the same SVG by @resvg/resvg-js (resvg, a Rust SVG renderer, as a
 * prebuilt N-API package from npm): no browser is needed at run time, which Chromium screenshots
 * would require. Text uses the system fonts (DejaVu Sans on Debian).
 *
 * Errors: NasError `not_found` (no such study; names the existing ones), `invalid_config` (neither
 * or both of store/storage, an unwritable output path).
 */
import { finalTables } from './final-table.js';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseHTML } from 'linkedom';
import { NasError } from '../core/errors.js';
import { requireParentDir } from '../core/paths.js';
import { dashboardSource, type OneShotView, type StudyDetail, type StudySeries, type TrialDetail, type TrialRow } from '../api/dashboard.js';
import { openStore } from '../store/index.js';
import { writeFileAtomic } from '../api/results.js';
import type { Store } from '../store/types.js';
import { METRIC_KIND_LABEL, METRIC_KINDS, metricKind, wantsLog, type MetricKind } from './analysis.js';
import { drawArch } from './plot/archgraph.js';
import { alphaHeatmaps, barChart, parallelCoordinates, STATE_COLORS, timeline, timelineCaption } from './plot/charts.js';
import { scatter } from './plot/scatter.js';
import { currentDocument, useDocument } from './plot/svg.js';
import { chooseMetricColumns, fmtFloat, fmtMetric } from './columns.js';

export interface StudyReportOptions {
  /** An open store (it is not closed), or `storage`: a store URL opened read-only. */
  readonly store?: Store;
  readonly storage?: string;
  /** Study name or id. */
  readonly study: string | number;
  /** Path of the HTML file to write (folders are created). */
  readonly out: string;
  /** When given, every plot is also written there as `<name>.png`. */
  readonly pngDir?: string;
  /** Rows of the trial table: the best trials by the first objective (default 200). */
  readonly tableRows?: number;
  /**
   * Replace an existing `out` file and existing PNGs (default true, as the main job rewrites its
   * report). False: `invalid_config` on field `out` (or `png`) before anything is read or written,
   * as `tsnas report` without --force does (the CLI's rule: no command replaces a file unasked).
   */
  readonly overwrite?: boolean;
}

export interface StudyReport {
  /** Absolute path of the HTML file. */
  readonly html: string;
  /** Absolute paths of the PNG files written (empty without pngDir). */
  readonly pngs: readonly string[];
  /** Names of the plots drawn (ids in the HTML; PNG base names). */
  readonly plots: readonly string[];
}

const PALETTE = ['#2f6fde', '#e8573d', '#27a26b', '#9b51e0', '#e8a33d', '#14a3b8', '#d63d8a', '#6b7280'];
const W = 620;

/** Writes the report; see the file comment. Signature kept stable for the main job (src/api/main-job.ts). */
export async function writeStudyReport(o: StudyReportOptions): Promise<StudyReport> {
  if ((o.store === undefined) === (o.storage === undefined)) {
    throw new NasError('invalid_config', 'writeStudyReport needs exactly one of store (an open Store) or storage (a URL)', { field: 'storage', hint: 'e.g. storage: "sqlite:./tsnas.db"' });
  }
  // Where the report goes is checked before the store is read: missing directories are an error
  // naming them, never created (src/core/paths.ts); the PNG directory itself may be new.
  requireParentDir(o.out, 'out');
  if (o.pngDir !== undefined) requireParentDir(o.pngDir, 'png');
  if (o.overwrite === false) {
    const out = resolve(o.out);
    if (existsSync(out)) throw new NasError('invalid_config', `${out} already exists`, { field: 'out', hint: 'give a new file name, or --force to replace it' });
    if (o.pngDir !== undefined && existsSync(o.pngDir) && readdirSync(o.pngDir).some((f) => f.endsWith('.png')))
      throw new NasError('invalid_config', `${resolve(o.pngDir)} already holds PNG files`, { field: 'png', hint: 'give a new or empty directory, or --force to replace them' });
  }
  const store = o.store ?? (await openStore(o.storage!, { readOnly: true }));
  try {
    const rec = await store.requireStudy(typeof o.study === 'number' ? (o.study as never) : o.study);
    const src = dashboardSource(store, false);
    const [detail, series] = await Promise.all([src.study(rec.id), src.series(rec.id)]);
    const winner = detail.study.best ? await src.trial(rec.id, detail.study.best.number) : null;
    const table = (
      await src.trials(rec.id, { sort: 'value', order: rec.objectives[0]?.direction === 'minimize' ? 'asc' : 'desc', limit: o.tableRows ?? 200 })
    ).trials;
    const oneshot = await src.oneshot(rec.id);
    const { html, svgs } = render(detail, series, winner, table, oneshot);
    const out = resolve(o.out);
    // Atomic (a temp file renamed into place; removed on an error, Ctrl-C or SIGTERM: core/partial.ts).
    try {
      writeFileAtomic(out, html);
    } catch (e) {
      throw new NasError('invalid_config', `cannot write the report to ${out}: ${(e as Error).message}`, { field: 'out', hint: 'pick a writable path', cause: e });
    }
    const pngs: string[] = [];
    if (o.pngDir !== undefined) {
      const dir = resolve(o.pngDir);
      if (!existsSync(dir)) mkdirSync(dir);
      const { Resvg } = await import('@resvg/resvg-js');
      for (const [name, svg] of svgs) {
        const file = join(dir, `${name}.png`);
        const png = new Resvg(standalone(svg), { fitTo: { mode: 'zoom', value: 2 }, background: '#ffffff', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
        writeFileAtomic(file, png);
        pngs.push(file);
      }
    }
    return { html: out, pngs, plots: [...svgs.keys()] };
  } finally {
    if (o.store === undefined) await store.close();
  }
}

const SVG_CSS = `.axis text{fill:#667085;font-size:11px;font-family:DejaVu Sans,Arial,sans-serif}.axis line,.axis path{stroke:#c9ced6}.gridline{stroke:#eef0f3}text{font-family:DejaVu Sans,Arial,sans-serif}`;

/** An SVG file on its own: namespace and the chart CSS inside (for resvg). */
function standalone(svg: string): string {
  return svg.replace(/^<svg /, `<svg xmlns="http://www.w3.org/2000/svg" `).replace(/^(<svg[^>]*>)/, `$1<style>${SVG_CSS}</style>`);
}

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Floats and integers (src/report/columns.ts fmtFloat: integers in full); metric cells use fmtMetric. */
const fmt = fmtFloat;

function fmtDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${Math.round(s - m * 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

function render(d: StudyDetail, sr: StudySeries, winner: TrialDetail | null, table: readonly TrialRow[], oneshot: OneShotView | null): { html: string; svgs: Map<string, string> } {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const previous = currentDocumentOrNull();
  useDocument(document as unknown as Document);
  const svgs = new Map<string, string>();
  const sections: string[] = [];
  const put = (name: string, el: Element | null): string => {
    if (!el) return '';
    const text = el.outerHTML;
    svgs.set(name, text);
    return `<div class="plot" id="plot-${name}">${text}</div>`;
  };
  try {
    const s = d.study;
    const obj = s.objectives[0];
    const metric = obj?.metric ?? 'value';
    const dir = obj?.direction ?? 'maximize';
    const elapsed = s.createdAt !== null && s.updatedAt !== null ? s.updatedAt - s.createdAt : null;
    const kv = (rows: [string, string][]): string => `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
    sections.push(
      `<section id="summary"><h2>Summary</h2>${kv([
        ['strategy', s.strategy],
        ['space', s.space],
        ['evaluator', s.evaluator],
        ['objectives', s.objectives.map((x) => `${x.metric} (${x.direction === 'maximize' ? 'max' : 'min'})`).join(', ')],
        ['status', s.status],
        ['trials', `${s.total}${s.maxTrials ? ` of ${s.maxTrials}` : ''}: ${s.counts.complete} complete, ${s.counts.pruned} pruned, ${s.counts.failed} failed, ${s.counts.running + s.counts.waiting} running or waiting`],
        // A multi-objective study has a front, not one best: its size and hypervolume with the
        // study's own reference point (what tsnas status gives); the first objective's best is said to be that alone.
        ...(s.objectives.length > 1
          ? ([
              [
                'pareto front',
                sr.hypervolume
                  ? `${sr.hypervolume.front} trial(s), non-dominated on ${s.objectives.length} objectives; hypervolume ${fmt(sr.hypervolume.history[sr.hypervolume.history.length - 1]?.hv ?? null)} (reference point ${sr.hypervolume.refText})`
                  : 'none yet',
              ],
              [`best ${metric} alone (1 of ${s.objectives.length} objectives)`, s.best ? `${fmt(s.best.value)} (trial ${s.best.number})` : 'none yet'],
            ] as [string, string][])
          : ([[`best ${metric}`, s.best ? `${fmt(s.best.value)} (trial ${s.best.number})` : 'none yet']] as [string, string][])),
        // Not 'elapsed': created-to-last-update spans the gaps between resumed runs (new user 11).
        ...(s.searchSeconds !== null ? ([['search time (all runs)', fmtDuration(s.searchSeconds * 1000)]] as [string, string][]) : []),
        ['created to last update', fmtDuration(elapsed)],
        ['created (UTC)', s.createdAt ? new Date(s.createdAt).toISOString().replace('T', ' ').slice(0, 19) : '–'],
      ])}</section>`,
    );
    if (sr.finalResults) {
      sections.push(
        `<section id="final-results"><h2>Final results</h2>${finalTables(sr.finalResults.sections)
          .map(
            (t) =>
              `<h3>${esc(t.title)}</h3>` +
              (t.rows.length ? `<table class="final"><thead><tr><th></th>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows.map((r) => `<tr><th>${esc(r.name)}</th>${r.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>` : '') +
              (t.plain.length ? kv(t.plain.map((r) => [r.key, r.value])) : ''),
          )
          .join('')}</section>`,
      );
    }
    if (oneshot) {
      let body = `<h2>One-shot search: ${esc(oneshot.method)}${oneshot.guard && oneshot.guard !== 'none' ? ` (guard: ${esc(oneshot.guard)})` : ''}</h2>`;
      if (oneshot.indecision) body += `<p class="warn" id="indecision">warning: ${esc(oneshot.indecision)}</p>`;
      if (oneshot.alpha) body += `<h3>softmax(alpha) per edge over the supernet epochs</h3>${put('oneshot-alpha', alphaHeatmaps(oneshot.alpha, { width: 2 * W }))}`;
      else body += '<p class="note">This method keeps no architecture weights (alpha).</p>';
      const derived = oneshot.derived ? drawArch(oneshot.derived) : null;
      body += `<h3>Derived cell</h3>${derived ? put('oneshot-derived', derived) : `<p class="empty">${oneshot.derived ? esc(JSON.stringify(oneshot.derived)) : 'not derived yet'}</p>`}`;
      sections.push(`<section id="oneshot" style="grid-column:1/-1">${body}</section>`);
    }
    if (s.total === 0) sections.push(`<section><p class="empty">This study has no trial yet.</p></section>`);
    else {
      const note = (t: string): string => `<p class="note">${esc(t)}</p>`;
      // fitness over trials
      const gMax = sr.maxGeneration;
      const color = (p: StudySeries['points'][number]): string => (gMax !== null && p.generation !== null ? genColor(gMax > 0 ? p.generation / gMax : 0) : STATE_COLORS[p.state] ?? '#667085');
      const fitness = scatter(
        sr.points.map((p) => ({ x: p.number, y: p.value, color: color(p), title: `trial ${p.number} · ${p.state} · ${metric} ${fmt(p.value)}` })),
        { width: W, height: 300, xLabel: 'trial number', yLabel: metric, robustY: true, lines: [{ points: sr.best.map((b) => ({ x: b.number, y: b.best })), color: '#111827', step: true, width: 2 }] },
      );
      let body = `<h2>${esc(metric)} of every trial, and the best so far</h2>${sr.withValue ? put('fitness', fitness) : '<p class="empty">No trial has a finite value yet.</p>'}`;
      body += note(`${gMax !== null ? `Coloured by generation (light: first, dark: generation ${gMax}). ` : 'Blue: complete, amber: pruned. '}Black: best so far over all complete trials.${sr.sampled ? ` Showing ${sr.points.length} of ${sr.withValue} trials (evenly sampled; every best-so-far improvement kept; the Pareto chart keeps every Pareto-optimal trial).` : ''}`);
      sections.push(`<section id="fitness">${body}</section>`);
      const timed = sr.best.filter((b) => b.t !== null);
      if (timed.length) {
        const useMin = timed[timed.length - 1]!.t! > 600;
        const el = scatter([], { width: W, height: 260, xLabel: useMin ? 'minutes since start' : 'seconds since start', yLabel: `best ${metric}`, lines: [{ points: timed.map((b) => ({ x: useMin ? b.t! / 60 : b.t!, y: b.best })), color: PALETTE[0]!, step: true }] });
        sections.push(`<section id="best-time"><h2>Best ${esc(metric)} so far vs wall-clock time</h2>${put('best-so-far', el)}</section>`);
      }
      if (sr.pareto && sr.pareto.of > 0) {
        const pr = sr.pareto;
        const logX = wantsLog([...pr.front, ...pr.others].map((p) => p.x));
        const el = scatter(
          [...pr.others.map((p) => ({ ...p, f: false })), ...pr.front.map((p) => ({ ...p, f: true }))].map((p) => ({
            x: p.x,
            y: p.y,
            color: p.f ? '#e8573d' : '#9db7ea',
            r: p.f ? 5 : 3.5,
            title: `trial ${p.number}: ${pr.x} ${fmt(p.x)}, ${pr.y} ${fmt(p.y)}`,
          })),
          { width: W, height: 300, xLabel: pr.x + (logX ? ' (log)' : ''), yLabel: pr.y, logX, robustY: true, lines: [{ points: pr.front, color: '#e8573d', width: 1.5 }] },
        );
        sections.push(
          `<section id="pareto"><h2>Pareto front: ${esc(pr.y)} vs ${esc(pr.x)}</h2>${put('pareto', el)}${note(`${pr.front.length} Pareto-optimal trials (red) over all ${pr.of} complete trials.${pr.sampled ? ` ${pr.others.length} dominated trials drawn (sampled).` : ''}`)}${frontTable(pr)}</section>`,
        );
      }
      if (sr.importance.length) {
        const el = barChart(sr.importance.slice(0, 12).map((x) => ({ label: x.name, value: x.ped, note: `η² ${x.eta2.toFixed(3)}` })), { width: W });
        sections.push(
          `<section id="importance"><h2>What matters for ${esc(metric)}</h2>${put('importance', el)}${note('PED-ANOVA importance (Watanabe et al., IJCAI 2023): how differently the top 10% of complete trials use each parameter than all complete trials (discrete values; numbers in 5 quantile bins).')}</section>`,
        );
      }
      if (sr.edf.n) {
        const logX = wantsLog(sr.edf.points.map((p) => p.x));
        const el = scatter([], { width: W, height: 240, xLabel: metric + (logX ? ' (log)' : ''), yLabel: 'share ≤ x', logX, lines: [{ points: sr.edf.points, color: PALETTE[0]!, step: true }] });
        sections.push(`<section id="edf"><h2>Empirical distribution of ${esc(metric)}</h2>${put('edf', el)}${note(`over all ${sr.edf.n} complete trials`)}</section>`);
      }
      if (sr.hypervolume) {
        const hv = sr.hypervolume;
        const el = scatter([], { width: W, height: 240, xLabel: 'trial number', yLabel: 'hypervolume', lines: [{ points: hv.history.map((p) => ({ x: p.number, y: p.hv })), color: PALETTE[2]!, step: true }] });
        sections.push(`<section id="hypervolume"><h2>Hypervolume history (${esc(hv.metrics.join(' × '))})</h2>${put('hypervolume', el)}${note(hv.caption)}${hv.warning ? note(`warning: ${hv.warning}`) : ''}</section>`);
      }
      if (sr.timeline.trials) {
        sections.push(`<section id="timeline"><h2>Timeline of trials per worker</h2>${put('timeline', timeline(sr.timeline, { width: W }))}${note(`${timelineCaption(sr.timeline)}. Blue complete, amber pruned, red failed, green running; outlined: re-run after a lost lease`)}</section>`);
      }
      if (sr.sliceParams.length) {
        const cols = [...sr.sliceParams, ...s.objectives.map((x) => x.metric)];
        const el = parallelCoordinates(cols, sr.sliceRows.map((r) => ({ number: r.number, cells: [...r.params, ...r.objectives] })), { width: W, height: 300, dir: s.objectives[s.objectives.length - 1]?.direction ?? dir });
        sections.push(`<section id="parallel"><h2>Parallel coordinates</h2>${put('parallel', el)}${note('the most important parameters and the objectives; darker = better')}</section>`);
      }
    }
    if (winner) {
      let body = `<h2>The winner: trial ${winner.number} (${esc(metric)} ${fmt(winner.value)})</h2>`;
      const arch = drawArch(winner.arch);
      body += arch ? put('winner-architecture', arch) : `<pre>${esc(JSON.stringify(winner.arch, null, 2))}</pre>`;
      const names = [...new Set(winner.intermediate.flatMap((p) => Object.keys(p.metrics)))].sort();
      const byKind = new Map<MetricKind, string[]>();
      for (const n of names) {
        const k = metricKind(n, winner.intermediate.map((p) => p.metrics[n]).filter((v): v is number => v !== undefined));
        byKind.set(k, [...(byKind.get(k) ?? []), n]);
      }
      if (names.length === 0) body += '<p class="empty">This trial reported no per-epoch values.</p>';
      for (const k of METRIC_KINDS) {
        const ms = byKind.get(k);
        if (!ms) continue;
        const el = scatter([], {
          width: W,
          height: 220,
          xLabel: 'epoch',
          yLabel: METRIC_KIND_LABEL[k],
          lines: ms.map((m, i) => ({ points: winner.intermediate.filter((p) => m in p.metrics).map((p) => ({ x: p.step, y: p.metrics[m]! })), color: PALETTE[i % PALETTE.length]! })),
        });
        body += `<h3>Learning curves: ${esc(METRIC_KIND_LABEL[k])}</h3>${put(`winner-curves-${k}`, el)}<p class="legend">${ms.map((m, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(m)}</span>`).join('')}</p>`;
      }
      body += `<h3>Metrics</h3>${kv(Object.entries(winner.metrics).map(([k, v]) => [k, fmt(v, 4)]))}`;
      sections.push(`<section id="winner">${body}</section>`);
    }
    sections.push(trialTable(d, table));
  } finally {
    useDocument(previous);
  }
  const title = `tsnas report: ${d.study.name}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${PAGE_CSS}</style></head>
<body><header><h1>${esc(d.study.name)}</h1><p class="sub">tsnas study report · written ${esc(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC · self-contained: no script, nothing loaded from the network</p></header>
<main>${sections.join('\n')}</main></body></html>
`;
  return { html, svgs };
}

function currentDocumentOrNull(): Document | null {
  try {
    return typeof globalThis.document === 'undefined' ? null : currentDocument();
  } catch {
    return null;
  }
}

function frontTable(pr: NonNullable<StudySeries['pareto']>): string {
  const rows = pr.front.slice(0, 30);
  return `<table class="data"><thead><tr><th>trial</th><th class="num">${esc(pr.x)}</th><th class="num">${esc(pr.y)}</th></tr></thead><tbody>${rows
    .map((p) => `<tr><td>${p.number}</td><td class="num">${fmt(p.x)}</td><td class="num">${fmt(p.y)}</td></tr>`)
    .join('')}</tbody></table>${pr.front.length > rows.length ? `<p class="note">first 30 of ${pr.front.length} front members</p>` : ''}`;
}

/** What the "supernet" mark of the one-shot search trial says (docs/oneshot.md, trial 0). */
const SUPERNET_TITLE = 'the one-shot supernet search (trial 0): its metrics are the supernet\'s, not a network\'s; it is never a candidate (docs/oneshot.md)';

function trialTable(d: StudyDetail, rows: readonly TrialRow[]): string {
  const obj = d.study.objectives[0]?.metric ?? 'value';
  // Objectives and tie-break first, then test/val metrics, then costs (src/report/columns.ts).
  const metricCols = chooseMetricColumns(d.metricNames, d.study.objectives, { tieBreak: d.study.objectives[0]?.tieBreak?.metric ?? null, max: 7, rows: rows.map((t) => t.metrics) });
  const head = ['#', 'state', obj, ...metricCols, 'duration', 'parameters'];
  const body = rows
    .map(
      (t) =>
        `<tr><td>${t.number}</td><td><span class="badge ${t.state}">${t.state}</span>${t.supernet ? ` <span class="badge supernet" title="${SUPERNET_TITLE}">supernet</span>` : ''}</td><td class="num">${t.supernet ? 'not a candidate' : fmt(t.value)}</td>${metricCols.map((m) => `<td class="num">${fmtMetric(m, t.metrics[m])}</td>`).join('')}<td class="num">${fmtDuration(t.durationMs)}</td><td class="arch">${esc(
          Object.entries(t.params)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' '),
        )}</td></tr>`,
    )
    .join('');
  const note = rows.length < d.study.total ? `<p class="note">The best ${rows.length} of ${d.study.total} trials by ${esc(obj)}; every trial: <code>tsnas trials --study ${esc(d.study.name)} --csv</code>.</p>` : '';
  return `<section id="trials"><h2>Trials</h2>${note}<div class="scroll"><table class="data" id="trial-table"><thead><tr>${head.map((h, i) => `<th${i >= 2 && i < head.length - 1 ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table></div></section>`;
}

function genColor(t: number): string {
  const stops = [
    [0xf0, 0xa0, 0x30],
    [0xc2, 0x41, 0x7a],
    [0x3b, 0x2a, 0x98],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return `rgb(${stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * f)).join(',')})`;
}

const PAGE_CSS = `
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header .sub{margin:4px 0 0;color:#c9ced6;font-size:12px}
main{max-width:1320px;margin:0 auto;padding:18px 20px;display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:16px}
section{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:14px 16px;overflow:hidden}
section#trials,section#winner{grid-column:1/-1}
h2{font-size:15px;margin:0 0 10px}h3{font-size:13px;margin:14px 0 6px;color:#344054}
.plot svg{max-width:100%;height:auto}.note{color:#667085;font-size:12px;margin:6px 0}.empty{color:#667085;font-style:italic}
table.kv th{text-align:left;color:#667085;font-weight:500;padding:2px 14px 2px 0;vertical-align:top}table.kv td{padding:2px 0}
table.data{border-collapse:collapse;width:100%;font-size:12px}table.data th,table.data td{padding:4px 8px;border-bottom:1px solid #eef0f3;text-align:left}
table.data th{color:#475467;font-weight:600;background:#f9fafb}.num{text-align:right !important;font-variant-numeric:tabular-nums}
td.arch{font-family:ui-monospace,monospace;color:#475467;max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.scroll{overflow-x:auto}.badge{padding:1px 7px;border-radius:9px;font-size:11px;background:#eef0f3}
.warn{background:#fffaeb;border:1px solid #fec84b;color:#93370d;padding:6px 10px;border-radius:6px}.badge.supernet{background:#ece4fd;color:#5925dc}.badge.complete{background:#dbe7fb;color:#1b4fae}.badge.failed{background:#fbdcdc;color:#9b1c1c}.badge.pruned{background:#fbecd6;color:#8a5a12}
.legend span{margin-right:14px;font-size:12px;color:#475467}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;vertical-align:-1px}
${SVG_CSS}
`;
