/**
 * Precomputed zero-cost proxy scores of every NAS-Bench-201 architecture key, and the per-study
 * proxy provider (`ctx.proxyOf`) over them or over live computation.
 *
 * Table format (CSV, optionally gzip; written by `npm run bench -- proxies --archs all --out F`):
 * `arch` (an NB201 arch string, one representative per architecture key), then per proxy P the
 * columns `P` (its value; empty = failed) and `P_ms` (the milliseconds its computation took for
 * that key when the table was made). The shipped data/nb201/nb201-proxies.csv.gz and how it was
 * made: data/README.md.
 */
import { fileURLToPath } from 'node:url';
import type { Nb201Arch } from '../../core/arch.js';
import { NasError } from '../../core/errors.js';
import { readMaybeGzip } from '../../data/gzip.js';
import { nb201Space } from '../../space/nb201.js';
import type { Metrics } from '../types.js';

export const NB201_PROXIES_CSV = fileURLToPath(new URL('../../../data/nb201/nb201-proxies.csv.gz', import.meta.url));

export interface ProxyValues {
  readonly values: Metrics;
  readonly ms: number;
  /** Why a proxy has no value (`proxy_<name>` -> reason), for the proxies the source was asked for. */
  readonly absent?: Readonly<Record<string, string>>;
  /** `ms` was recorded when a table was made (looked up, not spent now): the table's file. */
  readonly recordedIn?: string;
}

export interface ProxyTable {
  readonly file: string;
  readonly proxies: readonly string[];
  /** Values (metrics `proxy_<name>`, failed ones left out) and the recorded ms, by architecture key. */
  lookup(arch: Nb201Arch): ProxyValues | undefined;
  readonly size: number;
}

export function loadProxyTable(path = NB201_PROXIES_CSV): ProxyTable {
  const text = new TextDecoder().decode(readMaybeGzip(path));
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',');
  if (header[0] !== 'arch') throw new NasError('data_error', `${path}: the first column must be arch`, { field: `${path}:header` });
  const proxies = header.filter((h, i) => i > 0 && !h.endsWith('_ms'));
  const byKey = new Map<string, ProxyValues>();
  for (let r = 1; r < lines.length; r++) {
    const c = lines[r]!.split(',');
    if (c.length !== header.length) throw new NasError('data_error', `has ${c.length} fields, the header has ${header.length}`, { field: `${path}:line ${r + 1}` });
    const arch = nb201Space.parse(c[0]!);
    const values: Record<string, number> = {};
    let ms = 0;
    header.forEach((h, i) => {
      if (i === 0) return;
      const v = c[i] === '' ? NaN : Number(c[i]);
      if (h.endsWith('_ms')) ms += Number.isFinite(v) ? v : 0;
      else if (Number.isFinite(v)) values[`proxy_${h}`] = v;
    });
    byKey.set(nb201Space.key(arch as Nb201Arch), { values, ms });
  }
  return { file: path, proxies, size: byKey.size, lookup: (arch) => byKey.get(nb201Space.key(arch)) };
}

/**
 * One study's proxy source: `proxyOf(arch)` computes (or looks up) the values once per key (later
 * calls return the cached values with the same ms: the cost of that key's computation, which a
 * consumer counts once per key); `totalMs` is the proxy compute this provider has spent.
 */
export class ProxyProvider<A> {
  private readonly cache = new Map<string, ProxyValues>();
  totalMs = 0;
  computed = 0;
  constructor(
    private readonly keyOf: (arch: A) => string,
    private readonly compute: (arch: A) => ProxyValues,
  ) {}
  /** While collecting (collectAndFill's dry run): the architectures asked for and not yet known. */
  private collecting: Map<string, A> | null = null;
  readonly proxyOf = (arch: A): ProxyValues => {
    const k = this.keyOf(arch);
    const hit = this.cache.get(k);
    if (hit) return hit;
    if (this.collecting) {
      this.collecting.set(k, arch);
      return { values: {}, ms: 0 };
    }
    const v = this.compute(arch);
    this.cache.set(k, v);
    this.totalMs += v.ms;
    this.computed++;
    return v;
  };

  /**
   * Runs `run` dry (unknown architectures get empty placeholder values, not cached; `run`'s result
   * and errors are discarded), then computes every architecture it asked for, one at a time,
   * letting the event loop run and checking `signal` between them; repeated until a dry run asks
   * for nothing new (at most `rounds` times). Returns true when the signal stopped it. Used before
   * a strategy's synchronous init/ask, which then finds every value cached (src/run/strategy-driver.ts).
   */
  async collectAndFill(run: () => void, signal?: AbortSignal, rounds = 20): Promise<boolean> {
    for (let r = 0; r < rounds; r++) {
      const missed = new Map<string, A>();
      this.collecting = missed;
      try {
        run();
      } catch {
        // A dry run on placeholder values may fail where the real call does not; the real call reports.
      } finally {
        this.collecting = null;
      }
      if (missed.size === 0) return false;
      for (const a of missed.values()) {
        await new Promise((res) => setImmediate(res));
        if (signal?.aborted) return true;
        this.proxyOf(a);
      }
    }
    return false;
  }
}

/** Why each of the table's proxies without a value for these values is absent (undefined when none is). */
export function tableAbsent(t: ProxyTable, v: ProxyValues): Record<string, string> | undefined {
  const missing = t.proxies.filter((p) => typeof v.values[`proxy_${p}`] !== 'number');
  if (!missing.length) return undefined;
  return Object.fromEntries(missing.map((p) => [`proxy_${p}`, `proxy ${p} has no finite value for this architecture in ${shortPath(t.file)} (${failedWhy(t.file, p)})`]));
}

const shortPath = (f: string): string => f.replace(/^.*\/(data\/)/, '$1');

/**
 * Why a value of a table is empty, as far as is known: in the shipped NB201 table synflow's only
 * failures are cells with no path from input to output (its overflows were recomputed in session
 * 11, see data/README.md); of any other table only that it failed when the table was made.
 */
function failedWhy(file: string, proxy: string): string {
  return shortPath(file) === 'data/nb201/nb201-proxies.csv.gz' && proxy === 'synflow'
    ? 'a cell with no path from input to output: the only synflow failure in the shipped table'
    : 'it failed when the table was made';
}

/**
 * A provider over a proxy table: the looked-up values, the reasons of the absent ones, and `ms`
 * marked as recorded in the table; an architecture missing from it has no values.
 */
export function tableProvider(table: ProxyTable): ProxyProvider<Nb201Arch> {
  return new ProxyProvider<Nb201Arch>(
    (a) => nb201Space.key(a),
    (a) => {
      const v = table.lookup(a);
      if (!v) return { values: {}, ms: 0, absent: Object.fromEntries(table.proxies.map((p) => [`proxy_${p}`, `architecture not in ${shortPath(table.file)}`])) };
      const absent = tableAbsent(table, v);
      return { ...v, recordedIn: shortPath(table.file), ...(absent ? { absent } : {}) };
    },
  );
}
