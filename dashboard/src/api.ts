/** Fetches from the dashboard's own JSON API (same origin; nothing else is ever requested). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return jsonOf<T>(await fetch(path, { headers: { accept: 'application/json' } }));
}

async function jsonOf<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

/**
 * `path`'s answer when the page's first script (public/early.js) asked for it before this app
 * loaded, else that of a request sent now. The early response is taken once.
 */
export function earlyJson<T>(path: string): Promise<T> {
  const w = window as unknown as { tsnasEarly?: { path: string; response: Promise<Response> } };
  const e = w.tsnasEarly;
  if (e && e.path === path) {
    w.tsnasEarly = undefined;
    return e.response.then((res) => jsonOf<T>(res));
  }
  return getJson<T>(path);
}

/**
 * Live updates: one server-sent-events stream of per-study versions. Listeners get the new
 * versions map whenever any study changes.
 */
type Versions = Record<string, string>;
let source: EventSource | null = null;
const listeners = new Set<(v: Versions) => void>();
let last: Versions = {};

export function onVersions(fn: (v: Versions) => void): () => void {
  listeners.add(fn);
  if (!source) {
    source = new EventSource('/api/events');
    const dot = document.getElementById('live');
    source.addEventListener('versions', (ev) => {
      last = JSON.parse((ev as MessageEvent<string>).data) as Versions;
      for (const l of listeners) l(last);
    });
    source.addEventListener('open', () => dot?.classList.add('on'));
    source.addEventListener('error', () => dot?.classList.remove('on'));
  }
  return () => listeners.delete(fn);
}
