/**
 * Progress for long work. On a TTY stderr: one bar redrawn in place, with rate-based ETA. Not on a
 * TTY (CI logs, pipes): plain lines, at most one per `plainEveryMs` unless the work is done, so logs
 * stay short and readable. Progress never goes to stdout, which carries results (tables, JSON).
 */
export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly unit?: string;
  readonly stream?: NodeJS.WriteStream;
  /** Force plain lines (or a bar) regardless of the stream; default: bar iff the stream is a TTY. */
  readonly tty?: boolean;
  readonly plainEveryMs?: number;
  /** Injected clock for tests. */
  readonly now?: () => number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** ETA from the average rate so far; undefined before the first unit is done. */
export function eta(done: number, total: number, elapsedMs: number): number | undefined {
  if (done <= 0 || elapsedMs <= 0) return undefined;
  return ((total - done) * elapsedMs) / done;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly start: number;
  private lastPlain = -Infinity;
  private lastLine = '';
  private done = 0;
  private note = '';
  private closed = false;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? Date.now;
    this.start = this.now();
  }

  /** Sets the completed count (absolute, so resumed work shows the right total) and a short note. */
  update(done: number, note = this.note): void {
    if (this.closed) return;
    this.done = Math.min(done, this.opts.total);
    this.note = note;
    this.render(false);
  }

  /** Prints a line above the bar (or a plain line). */
  log(line: string): void {
    if (this.tty) this.stream.write(`\r\x1b[2K${line}\n`);
    else this.stream.write(`${line}\n`);
    if (this.tty && !this.closed) this.render(true);
  }

  finish(note = this.note): void {
    if (this.closed) return;
    this.note = note;
    this.render(true);
    if (this.tty) this.stream.write('\n');
    this.closed = true;
  }

  line(): string {
    const { total, label } = this.opts;
    const unit = this.opts.unit ?? '';
    const elapsed = this.now() - this.start;
    const left = eta(this.done, total, elapsed);
    const pct = total > 0 ? Math.floor((100 * this.done) / total) : 100;
    const head = `${label} ${this.done}/${total}${unit ? ' ' + unit : ''} (${pct}%)`;
    const tail = `elapsed ${formatDuration(elapsed)}${this.done < total ? `, ETA ${left === undefined ? '?' : formatDuration(left)}` : ''}${this.note ? `, ${this.note}` : ''}`;
    if (!this.tty) return `${head} ${tail}`;
    const width = 24;
    const fill = total > 0 ? Math.round((width * this.done) / total) : width;
    return `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${this.done}/${total} ${tail}`;
  }

  private render(force: boolean): void {
    if (this.tty) {
      const cols = this.stream.columns || 100;
      this.stream.write(`\r\x1b[2K${this.line().slice(0, Math.max(20, cols - 1))}`);
      return;
    }
    const t = this.now();
    const every = this.opts.plainEveryMs ?? 2000;
    const line = this.line();
    if (line === this.lastLine) return;
    if (force || this.done >= this.opts.total || t - this.lastPlain >= every) {
      this.lastPlain = t;
      this.lastLine = line;
      this.stream.write(`${line}\n`);
    }
  }
}
