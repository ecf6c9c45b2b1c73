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

export function lineChart(parent: HTMLElement, xs: readonly number[], series: readonly LineSeries[], o: LineOpts): uPlot {
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const hasY2 = series.some((s) => s.scale === 'y2');
  const opts: uPlot.Options = {
    width: o.width,
    height: o.height,
    ...(o.title ? { title: o.title } : {}),
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false } },
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
        points: { show: s.points ?? false, size: 6, fill: s.color },
      })),
    ],
  };
  const data = [Array.from(xs), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
  return new uPlot(opts, data, parent);
}
