/**
 * SVG element builder shared by the dashboard (the browser's document) and the static reports
 * (a linkedom document in Node): every plot in this folder builds through `s()`, so one drawing
 * code serves both.
 */
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

let doc: Document | null = null;

/** Draw into this document from now on (null: the global `document`). */
export function useDocument(d: Document | null): void {
  doc = d;
}

export function currentDocument(): Document {
  return doc ?? globalThis.document;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): SVGElementTagNameMap[K] {
  const d = currentDocument();
  const el = d.createElementNS(SVG_NS, tag) as SVGElementTagNameMap[K];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : d.createTextNode(String(c)));
  }
  return el;
}
