import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { usd } from "./format.ts";

/** Spend over time, stacked by one dimension (uPlot: ~50 kB, canvas). Series are drawn largest sum first. */

const PALETTE = ["#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#64748b"];

export interface StackedSeries {
  label: string;
  values: number[];
}

/** Bumps when the theme changes (the chart's canvas colours are read from the CSS variables when it is built). */
function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    const media = matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", bump);
    const observer = new MutationObserver(bump);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => {
      media.removeEventListener("change", bump);
      observer.disconnect();
    };
  }, []);
  return version;
}

export function SpendChart({
  times,
  series,
  unit,
}: {
  times: number[];
  series: StackedSeries[];
  unit: "hour" | "day";
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo(() => {
    // Cumulative sums: series i is drawn as the sum of series 0…i, filled to zero, topmost first.
    const cumulative: number[][] = [];
    let running = times.map(() => 0);
    for (const s of series) {
      running = running.map((v, i) => v + (s.values[i] ?? 0));
      cumulative.push(running);
    }
    return [times.map((t) => t / 1000), ...cumulative.reverse()] as uPlot.AlignedData;
  }, [times, series]);

  const theme = useThemeVersion();
  const signature = `${theme}:${unit}:${series.map((s) => s.label).join("\u0000")}`;
  // Rebuilt when the series change (count, labels); data alone updates in place below.
  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt per signature, data set separately
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const styles = getComputedStyle(document.documentElement);
    const text = styles.getPropertyValue("--muted").trim() || "#555";
    const grid = styles.getPropertyValue("--border").trim() || "#ddd";
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: text,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 70,
          values: (_u, vals) => vals.map((v) => usd(v)),
        },
      ],
      series: [
        {},
        ...series
          .map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length] as string,
            fill: `${PALETTE[i % PALETTE.length]}cc`,
            width: 1,
            points: { show: false },
            paths: uPlot.paths.stepped?.({ align: 1 }),
          }))
          .reverse(),
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 260 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [signature]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const totals = series.map((s) => s.values.reduce((a, b) => a + b, 0));
  return (
    <figure style={{ margin: 0 }}>
      <div
        ref={box}
        className="chart"
        role="img"
        aria-label={`Spend per ${unit}, stacked: ${series.map((s, i) => `${s.label} ${usd(totals[i])}`).join(", ")}`}
      />
      <ul className="legend">
        {series.map((s, i) => (
          <li key={s.label}>
            <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
            {s.label} <span className="muted">{usd(totals[i])}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

export const CHART_SERIES_MAX = PALETTE.length;
