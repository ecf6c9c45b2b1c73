/** Hash router: #/ studies, #/study/:id[/trials], #/study/:id/trial/:n, #/compare?ids=1,2. */
import './style.css';
import { clear, h } from './dom.js';
import { studiesView } from './views/studies.js';
import { studyView } from './views/study.js';
import { trialView } from './views/trial.js';
import { compareView } from './views/compare.js';

/** A view renders into `root` and returns its cleanup (timers, listeners, charts). */
export type View = (root: HTMLElement) => () => void;

performance.mark('tsnas:app-start');
const app = document.getElementById('app')!;
let cleanup: (() => void) | null = null;

function route(): void {
  cleanup?.();
  cleanup = null;
  clear(app);
  window.scrollTo(0, 0);
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?') as [string, string | undefined];
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query ?? '');
  let view: View;
  let nav = 'studies';
  if (parts.length === 0) view = studiesView;
  else if (parts[0] === 'compare') {
    nav = 'compare';
    view = compareView((params.get('ids') ?? '').split(',').filter(Boolean).map(Number));
  } else if (parts[0] === 'study' && parts[1] && parts.length === 2) view = studyView(Number(parts[1]), 'overview');
  else if (parts[0] === 'study' && parts[1] && parts[2] === 'trials' && parts.length === 3) view = studyView(Number(parts[1]), 'trials');
  else if (parts[0] === 'study' && parts[1] && parts[2] === 'trial' && parts[3] && parts.length === 4) view = trialView(Number(parts[1]), Number(parts[3]));
  else view = (root) => (root.append(h('div', { class: 'err' }, `no such page: ${hash}`)), () => {});
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) a.classList.toggle('active', a.dataset['nav'] === nav);
  cleanup = view(app);
}

window.addEventListener('hashchange', route);
route();
