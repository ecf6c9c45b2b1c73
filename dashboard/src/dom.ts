/** Tiny DOM helpers: the dashboard is plain TypeScript, no framework. */
import { fmtFloat } from '../../src/report/columns.js';
export { fmtMetric, fmtCount } from '../../src/report/columns.js';
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** The report's float format (src/report/columns.ts fmtFloat): integers in full, never 1.07e+6. */
export function fmt(v: number | null | undefined, digits = 2): string {
  return fmtFloat(v, digits);
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${Math.round(sec - m * 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

export const STATE_COLORS: Record<string, string> = {
  complete: '#2f6fde',
  pruned: '#e8a33d',
  failed: '#d64545',
  running: '#27a26b',
  waiting: '#98a2b3',
};

/** Distinct colours for series (studies in comparisons, metrics in curves). */
export const PALETTE = ['#2f6fde', '#e8573d', '#27a26b', '#9b51e0', '#e8a33d', '#14a3b8', '#d63d8a', '#6b7280'];

/** The "supernet" mark of the one-shot search trial (docs/oneshot.md, trial 0): not a candidate. */
export function supernetBadge(): HTMLElement {
  return h('span', { class: 'badge supernet', title: "the one-shot supernet search (trial 0): its metrics are the supernet's, not a network's; it is never a candidate (docs/oneshot.md)", style: 'margin-left:4px' }, 'supernet');
}
