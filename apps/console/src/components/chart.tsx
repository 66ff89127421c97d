import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * A bar chart (uPlot): values at unix-second x positions (usage per day), or one bar per
 * `labels` entry (usage per billing period). Re-created when the data changes; sized to its container.
 */
export function BarChart(props: { xs: number[]; ys: number[]; label: string; labels?: string[]; height?: number; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const labels = props.labels;
    const bars = uPlot.paths.bars!({ size: [0.6, 80] });
    const plot = new uPlot(
      {
        width: Math.max(320, host.clientWidth),
        height: props.height ?? 220,
        scales: {
          x: labels ? { time: false, range: () => [-0.5, labels.length - 0.5] } : { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [
          labels ? { splits: () => labels.map((_, i) => i), values: (_u, splits) => splits.map((i) => labels[i] ?? '') } : {},
          { size: 60 },
        ],
        legend: { show: true },
        series: [{}, { label: props.label, paths: bars, points: { show: false }, fill: 'rgba(79, 70, 229, 0.55)', stroke: '#4f46e5' }],
      },
      [labels ? labels.map((_, i) => i) : props.xs, props.ys],
      host,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, host.clientWidth), height: props.height ?? 220 }));
    resize.observe(host);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.xs.join(','), props.ys.join(','), props.label, props.labels?.join(',')]);
  return <div class="chart" ref={el} data-testid={props.testId} />;
}
