/** Fetches from the dashboard's own JSON API (same origin; nothing else is ever requested). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
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
