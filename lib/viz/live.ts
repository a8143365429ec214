// A live training plot: one line chart that grows while a model trains (the Trainer drives it).
import { lineChart, Figure } from "./plot";
import { loadPlotly } from "./plotly_bundle";
import { markDisplayed, newHandle } from "./display";

export interface LivePlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Title of the right axis, for the series named in rightAxis. */
  y2Label?: string;
  /** Series drawn against the right axis (scores beside losses). */
  rightAxis?: string[];
  logY?: boolean;
  /** Redraw at most this often (ms); push() between redraws only stores the point. */
  everyMs?: number;
  /** At most this many redraws during training (the final one in done() comes on top). */
  maxUpdates?: number;
  /** Thin each series to at most this many points by keeping every 2nd, 4th, ... point. */
  maxPoints?: number;
  height?: number;
  /** A clock for tests. */
  now?: () => number;
}

export interface LivePlot {
  /** Add one point to a series (created on first use); x defaults to the series' point count. */
  push(series: string, y: number, x?: number): void;
  /** Redraw now with everything pushed so far. */
  draw(): Figure;
  /** Final redraw; the figure it returns (and the notebook keeps) has every stored point. */
  done(): Figure;
}

interface LiveSeries {
  x: number[];
  y: number[];
  stride: number;
  seen: number;
  last?: [number, number];
}

/**
 * A line chart that grows while a model trains. In Jupyter it redraws in place (one display, overwritten via
 * update_display_data), throttled by everyMs/maxUpdates; the executed notebook keeps only the final figure,
 * so exported HTML shows the complete curve at the cost of one chart. In a node script it prints one line
 * at done().
 */
export function livePlot(o: LivePlotOptions = {}): LivePlot {
  const everyMs = o.everyMs ?? 1000;
  const maxUpdates = o.maxUpdates ?? 100;
  const maxPoints = o.maxPoints ?? 2000;
  if (!(everyMs >= 0)) throw new Error(`livePlot everyMs (${everyMs}) must be >= 0 milliseconds`);
  if (!(maxUpdates >= 0)) throw new Error(`livePlot maxUpdates (${maxUpdates}) must be >= 0`);
  if (!(maxPoints >= 2)) throw new Error(`livePlot maxPoints (${maxPoints}) must be >= 2`);
  const now = o.now ?? Date.now;
  const handle = newHandle({ quietUntilFinal: true });
  const series = new Map<string, LiveSeries>();
  let updates = 0;
  let lastDraw = -Infinity;
  let finished = false;

  const build = (): Figure =>
    lineChart({
      title: o.title,
      xLabel: o.xLabel,
      yLabel: o.yLabel,
      y2Label: o.y2Label,
      logY: o.logY,
      height: o.height,
      show: false,
      series: [...series].map(([name, s]) => {
        // The latest point always shows, even when thinning skipped it.
        const tail = s.last && s.x[s.x.length - 1] !== s.last[0] ? [s.last] : [];
        const right = o.rightAxis?.includes(name) ?? false;
        return { name, x: [...s.x, ...tail.map((p) => p[0])], y: [...s.y, ...tail.map((p) => p[1])], rightAxis: right };
      }),
    });

  const draw = (final = false): Figure => {
    if (series.size === 0) throw new Error("livePlot has no points yet: push(series, y) before drawing");
    const fig = build();
    loadPlotly();
    handle.show({ html: fig.html, text: fig.text }, { final });
    lastDraw = now();
    return markDisplayed(fig);
  };

  return {
    push(name: string, y: number, x?: number) {
      if (finished) throw new Error(`livePlot "${o.title ?? ""}" is done: create a new livePlot to plot more`);
      if (typeof y !== "number") throw new Error(`livePlot push("${name}", y): y is ${JSON.stringify(y)}, not a number`);
      const s = series.get(name) ?? { x: [], y: [], stride: 1, seen: 0 };
      series.set(name, s);
      const px = x ?? s.seen;
      if (s.seen % s.stride === 0) {
        s.x.push(px);
        s.y.push(y);
        if (s.x.length > maxPoints) {
          // Keep every other point and from now on store every (2·stride)-th: the curve keeps its shape.
          s.x = s.x.filter((_, i) => i % 2 === 0);
          s.y = s.y.filter((_, i) => i % 2 === 0);
          s.stride *= 2;
        }
      }
      s.last = [px, y];
      s.seen += 1;
      if (updates < maxUpdates && now() - lastDraw >= everyMs) {
        updates += 1;
        draw();
      }
    },
    draw: () => draw(),
    done() {
      finished = true;
      return draw(true);
    },
  };
}
