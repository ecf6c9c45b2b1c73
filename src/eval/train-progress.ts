/**
 * The trainer's progress display: on a TTY stderr one bar redrawn in place (epoch, batch, loss,
 * rate); otherwise one plain line per epoch. Never writes to stdout, which carries results.
 */
export interface TrainProgressSink {
  batch(epoch: number, epochs: number, batch: number, batches: number, loss: number): void;
  epoch(epoch: number, epochs: number, metrics: Readonly<Record<string, number>>, seconds: number): void;
  done(): void;
}

export function consoleProgress(label: string, stream: NodeJS.WriteStream = process.stderr, tty = Boolean(stream.isTTY)): TrainProgressSink {
  let last = 0;
  let drawn = false;
  const t0 = Date.now();
  return {
    batch(epoch, epochs, batch, batches, loss) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && batch !== batches) return;
      last = now;
      const width = 24;
      const frac = batch / batches;
      const fill = Math.round(frac * width);
      const bar = '='.repeat(fill) + (fill < width ? '>' : '') + ' '.repeat(Math.max(0, width - fill - 1));
      stream.write(`\r${label} epoch ${epoch}/${epochs} [${bar}] ${batch}/${batches} loss ${loss.toFixed(4)} ${((now - t0) / 1000).toFixed(1)}s\x1b[K`);
      drawn = true;
    },
    epoch(epoch, epochs, metrics, seconds) {
      const parts = Object.entries(metrics)
        .filter(([k]) => k === 'train_loss' || k.startsWith('val_'))
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
      stream.write(`${tty && drawn ? '\r\x1b[K' : ''}${label} epoch ${epoch}/${epochs} ${parts.join(' ')} (${seconds.toFixed(1)}s)\n`);
      drawn = false;
    },
    done() {
      if (tty && drawn) stream.write('\r\x1b[K');
    },
  };
}
