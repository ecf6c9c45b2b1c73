/** Line charts (best-so-far, learning curves, comparisons) with uPlot. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSeries {
  readonly label: string;
  readonly color: string;
  /** One value per x (null = gap). */
  readonly values: readonly (number | null)[];
  readonly step?: boolean;
  readonly points?: boolean;
  readonly dash?: boolean;
  /** 'y' (left, default) or 'y2' (right). */
  readonly scale?: 'y' | 'y2';
}

export interface LineOpts {
  readonly width: number;
  readonly height: number;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly y2Label?: string;
  readonly title?: string;
}

/**
 * A uPlot line chart. A series with a single finite value (one epoch, one improvement) has no
 * segment to draw, so its points are always shown; a single x value gets an x range around it
 * (uPlot would otherwise span nothing).
 */
export function lineChart(parent: HTMLElement, xs: readonly number[], series: readonly LineSeries[], o: LineOpts): uPlot {
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const finite = (v: readonly (number | null)[]): number => v.reduce<number>((n, x) => n + (x !== null && Number.isFinite(x) ? 1 : 0), 0);
  const hasY2 = series.some((s) => s.scale === 'y2');
  const opts: uPlot.Options = {
    width: o.width,
    height: o.height,
    ...(o.title ? { title: o.title } : {}),
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false, range: (_u, lo, hi) => (lo === hi || lo === null || hi === null ? [(lo ?? 0) - 1, (hi ?? 0) + 1] : [lo, hi]) } },
    axes: [
      { label: o.xLabel, stroke: '#667085', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#c9ced6' } },
      { label: o.yLabel, stroke: '#667085', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#c9ced6' }, size: 56 },
      ...(hasY2 ? [{ label: o.y2Label ?? '', scale: 'y2', side: 1 as const, stroke: '#667085', grid: { show: false }, size: 56 }] : []),
    ],
    series: [
      { label: o.xLabel },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        scale: s.scale ?? 'y',
        spanGaps: true,
        ...(s.dash ? { dash: [6, 4] } : {}),
        ...(s.step && stepped ? { paths: stepped } : {}),
        points: { show: (s.points ?? false) || finite(s.values) <= 1, size: finite(s.values) <= 1 ? 9 : 6, fill: s.color },
      })),
    ],
  };
  const data = [Array.from(xs), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
  return new uPlot(opts, data, parent);
}
