// Offline Plotly charts for notebooks: loss curves, attention/confusion heatmaps, 2-D embeddings, bar charts.
//
// Executed notebooks are exported to HTML and read later without network, so nothing is loaded from a CDN: a
// chart is a small <div> + <script> carrying its data, which waits until both Plotly and its div exist. The
// Plotly library itself reaches each page once, with the first chart it gets (lib/viz/plotly_bundle.ts).
//
// Every helper also returns its figure (Plotly data + layout) so tests and notebooks can inspect it.
//
//   lineChart({ title: "Loss", series: [{ name: "train", y: losses }], xLabel: "step", logY: true });
//   heatmap({ title: "Attention, head 0", z: weights, x: tokens, y: tokens });

import { escapeHtml, formatNumber, freshId, markDisplayed, scriptJson, show, summarised } from "./display";
import { loadPlotly } from "./plotly_bundle";

/** A Plotly trace or layout: plain JSON, as Plotly.newPlot takes it. */
export type Json = Record<string, unknown>;

/** What every chart helper returns: the figure as data, and the HTML/text it was shown as. */
export interface Figure {
  id: string;
  data: Json[];
  layout: Json;
  html: string;
  text: string;
}

const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };

// --- one chart = a div + a script ----------------------------------------------------------------------------

/** The HTML for one figure: a div with a fresh id and a script that draws into it once Plotly exists. */
export function chartHtml(id: string, data: Json[], layout: Json, heightPx: number): string {
  const figure = scriptJson({ data, layout, config: CONFIG });
  const missing = escapeHtml(
    "Plot not drawn: the Plotly bundle is not loaded in this page. Run loadPlotly({ force: true }) and this " +
      "cell again, or restart the kernel and run all cells.",
  );
  return (
    `<div id="${id}" class="nlu-plot" style="width:100%;max-width:960px;height:${heightPx}px"></div>\n` +
    `<script>(function () {\n` +
    `  var id = ${scriptJson(id)}, fig = ${figure}, tries = 0;\n` +
    // Poll: JupyterLab runs output scripts before attaching the output to the page, and the bundle's output
    // may still be rendering. ~20 s, then say why instead of leaving a blank box.
    `  function draw() {\n` +
    `    var el = document.getElementById(id);\n` +
    `    if (el && window.Plotly && window.Plotly.newPlot) { window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); return; }\n` +
    `    if (++tries > 400) { if (el) el.textContent = ${scriptJson(missing)}; return; }\n` +
    `    setTimeout(draw, 50);\n` +
    `  }\n` +
    `  draw();\n` +
    `})();</script>`
  );
}

function figure(kind: string, data: Json[], layout: Json, text: string): Figure {
  const id = freshId("nlu-plot");
  const height = typeof layout.height === "number" ? layout.height : 420;
  const fig: Figure = { id, data, layout, html: chartHtml(id, data, layout, height), text: `[${kind}] ${text}` };
  return summarised(fig, fig.text); // a script's console.log(fig) prints the line, not the whole figure
}

/** Show the figure; once shown it is marked, so a cell ending in lineChart(...) adds no text line under it. */
function display(fig: Figure): Figure {
  loadPlotly();
  show({ html: fig.html, text: fig.text });
  return markDisplayed(fig);
}

// Plotly renders titles, legend names and tick labels as a small HTML subset (<b>, <br>, entities): escape what
// would be read as markup (<, >, &) so user text shows literally, but not quotes, which it would show as &quot;.
const label = (s: unknown): string => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function baseLayout(o: { title?: string; xLabel?: string; yLabel?: string; height?: number }): Json {
  return {
    title: { text: label(o.title ?? "") },
    height: o.height ?? 420,
    margin: { l: 70, r: 30, t: o.title ? 60 : 30, b: 60 },
    font: { family: "Helvetica, Arial, sans-serif", size: 13 },
    xaxis: { title: { text: label(o.xLabel ?? "") }, automargin: true },
    yaxis: { title: { text: label(o.yLabel ?? "") }, automargin: true },
    paper_bgcolor: "white",
    plot_bgcolor: "#fafafa",
  };
}

// Plotly draws null as a gap; NaN/Infinity would break JSON.
const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function checkNumbers(name: string, values: unknown, fix: string): asserts values is number[] {
  if (!Array.isArray(values)) throw new Error(`${name} must be an array of numbers, got ${typeof values}: ${fix}`);
  const bad = values.findIndex((v) => typeof v !== "number");
  if (bad >= 0) throw new Error(`${name}[${bad}] is ${JSON.stringify(values[bad])}, not a number: ${fix}`);
}

// --- line charts -----------------------------------------------------------------------------------------------

export interface Series {
  name: string;
  y: number[];
  /** Defaults to 0, 1, 2, ... (steps). */
  x?: number[];
  /** Draw against a second y axis on the right (scores beside losses: different units, different scale). */
  rightAxis?: boolean;
}

export interface LineChartOptions {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Title of the right axis, used by series with rightAxis (e.g. "validation macroF1"). */
  y2Label?: string;
  /** Log-scale y axis (the left one): losses span orders of magnitude. */
  logY?: boolean;
  /** Log-scale x axis: model sizes span orders of magnitude. */
  logX?: boolean;
  /** Markers on every point, not only lines (sweeps with few points). */
  markers?: boolean;
  height?: number;
  /** false: only build the figure (for tests or to show later). */
  show?: boolean;
}

/** Lines, one per series: loss curves, accuracy per epoch; series with rightAxis use a second y axis. */
export function lineChart(o: LineChartOptions): Figure {
  if (!o || !Array.isArray(o.series) || o.series.length === 0) {
    throw new Error("lineChart needs series: [{ name, y }] with at least one series");
  }
  const data = o.series.map((s, i) => {
    const where = `series[${i}] (${JSON.stringify(s.name)})`;
    checkNumbers(`${where}.y`, s.y, "pass plain numbers, e.g. await tensor.data() converted with Array.from");
    if (s.x !== undefined) {
      checkNumbers(`${where}.x`, s.x, "pass plain numbers or leave x out for 0, 1, 2, ...");
      if (s.x.length !== s.y.length) {
        throw new Error(`${where}: x has ${s.x.length} values but y has ${s.y.length}: give one x per y`);
      }
    }
    const trace: Json = {
      type: "scatter",
      mode: s.y.length === 1 || o.markers ? "lines+markers" : "lines",
      name: label(s.name),
      x: s.x ?? s.y.map((_, j) => j),
      y: s.y.map(finiteOrNull),
    };
    if (s.rightAxis) trace.yaxis = "y2";
    return trace;
  });
  const layout = baseLayout(o);
  if (o.logY) (layout.yaxis as Json).type = "log";
  if (o.logX) (layout.xaxis as Json).type = "log";
  if (o.series.some((s) => s.rightAxis)) {
    // tickmode "auto": plotly 3 otherwise syncs an overlaying axis's ticks to the left axis's grid, which gives
    // ticks at values like 0.3472 and lets the right-hand series touch the plot's top edge.
    layout.yaxis2 = { title: { text: label(o.y2Label ?? "") }, overlaying: "y", side: "right", automargin: true, showgrid: false, zeroline: false, tickmode: "auto" };
    // The legend's default place (right of the plot) is where the second axis is: put it above.
    layout.legend = { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" };
  }
  const summary = o.series
    .map((s) => `${s.name}: ${s.y.length} points, last ${s.y.length ? formatNumber(s.y[s.y.length - 1]) : "-"}`)
    .join("; ");
  const fig = figure("line chart", data, layout, `${o.title ?? ""} — ${summary}`);
  return o.show === false ? fig : display(fig);
}

// --- heatmaps -------------------------------------------------------------------------------------------------

export interface HeatmapOptions {
  /** z: [rows, cols], row 0 drawn at the top (matrix order). */
  z: number[][];
  /** Column labels (e.g. key tokens, predicted class). Duplicates are fine: tokens repeat. */
  x?: (string | number)[];
  /** Row labels (e.g. query tokens, true class). */
  y?: (string | number)[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /**
   * Default white (low) to dark blue (high). Or a Plotly scale name ("Viridis", "RdBu", ...) or
   * [[0, "#fff"], [1, "#08306b"]]; note Plotly's own "Blues"/"Greys" run dark to light, hence the default.
   */
  colorscale?: string | [number, string][];
  zmin?: number;
  zmax?: number;
  /** Write each value in its cell (confusion matrices). */
  showValues?: boolean;
  height?: number;
  show?: boolean;
}

// ColorBrewer Blues, light to dark: high attention / many examples read as "more ink".
const WHITE_TO_BLUE: [number, string][] = [
  [0, "#f7fbff"],
  [0.25, "#c6dbef"],
  [0.5, "#6baed6"],
  [0.75, "#2171b5"],
  [1, "#08306b"],
];

/** A matrix as colours: attention weights [query, key], a confusion matrix [true, predicted]. */
export function heatmap(o: HeatmapOptions): Figure {
  if (!o || !Array.isArray(o.z) || o.z.length === 0 || !Array.isArray(o.z[0])) {
    throw new Error("heatmap needs z: number[][] with at least one row (use await tensor.array() for a 2-D tensor)");
  }
  const rows = o.z.length;
  const cols = o.z[0].length;
  o.z.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) {
      throw new Error(`heatmap z[${i}] has ${Array.isArray(row) ? row.length : "no"} values, z[0] has ${cols}: z must be rectangular`);
    }
    checkNumbers(`heatmap z[${i}]`, row, "pass plain numbers");
  });
  if (o.x && o.x.length !== cols) throw new Error(`heatmap x has ${o.x.length} labels but z has ${cols} columns: give one label per column`);
  if (o.y && o.y.length !== rows) throw new Error(`heatmap y has ${o.y.length} labels but z has ${rows} rows: give one label per row`);
  // Positions, not labels, on the axes: a categorical axis would merge repeated tokens ("the ... the").
  const xs = Array.from({ length: cols }, (_, j) => j);
  const ys = Array.from({ length: rows }, (_, i) => i);
  const xText = (o.x ?? xs).map(label);
  const yText = (o.y ?? ys).map(label);
  const trace: Json = {
    type: "heatmap",
    z: o.z.map((row) => row.map(finiteOrNull)),
    x: xs,
    y: ys,
    colorscale: o.colorscale ?? WHITE_TO_BLUE,
    customdata: ys.map((i) => xs.map((j) => [yText[i], xText[j]])),
    hovertemplate: "%{customdata[0]} → %{customdata[1]}: %{z}<extra></extra>",
  };
  if (o.zmin !== undefined) trace.zmin = o.zmin;
  if (o.zmax !== undefined) trace.zmax = o.zmax;
  if (o.showValues) {
    trace.texttemplate = "%{z:.3~g}";
    trace.textfont = { size: 11 };
  }
  const layout = baseLayout({ ...o, height: o.height ?? Math.min(720, Math.max(320, 160 + 22 * rows)) });
  const ticks = (vals: number[], text: string[]): Json => ({ tickmode: "array", tickvals: vals, ticktext: text });
  layout.xaxis = { ...(layout.xaxis as Json), ...ticks(xs, xText), side: "bottom" };
  layout.yaxis = { ...(layout.yaxis as Json), ...ticks(ys, yText), autorange: "reversed" };
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of o.z) for (const v of row) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const fig = figure("heatmap", [trace], layout, `${o.title ?? ""} — ${rows}×${cols}, min ${formatNumber(lo)}, max ${formatNumber(hi)}`);
  return o.show === false ? fig : display(fig);
}

// --- scatter ----------------------------------------------------------------------------------------------------

export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour group (class, language, model); one legend entry per label. */
  label: string | number;
  /** Shown on hover (e.g. the sentence). */
  text?: string;
}

export interface ScatterOptions {
  points: ScatterPoint[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  markerSize?: number;
  height?: number;
  show?: boolean;
}

/** Points coloured by label: 2-D projections of embeddings (PCA of hidden states). */
export function scatter(o: ScatterOptions): Figure {
  if (!o || !Array.isArray(o.points) || o.points.length === 0) {
    throw new Error("scatter needs points: [{ x, y, label }] with at least one point");
  }
  const groups = new Map<string, ScatterPoint[]>(); // first-appearance order = legend order
  o.points.forEach((p, i) => {
    if (typeof p.x !== "number" || typeof p.y !== "number") {
      throw new Error(`scatter points[${i}] has x=${JSON.stringify(p.x)}, y=${JSON.stringify(p.y)}: both must be numbers`);
    }
    const key = String(p.label);
    const group = groups.get(key) ?? [];
    group.push(p);
    groups.set(key, group);
  });
  const data = [...groups].map(([name, pts]) => ({
    type: "scatter",
    mode: "markers",
    name: label(name),
    x: pts.map((p) => finiteOrNull(p.x)),
    y: pts.map((p) => finiteOrNull(p.y)),
    text: pts.map((p) => label(p.text ?? name)),
    hoverinfo: "text",
    marker: { size: o.markerSize ?? 7, opacity: 0.8 },
  }));
  const counts = [...groups].map(([name, pts]) => `${name} ${pts.length}`).join(", ");
  const fig = figure("scatter", data, baseLayout(o), `${o.title ?? ""} — ${o.points.length} points, ${groups.size} labels (${counts})`);
  return o.show === false ? fig : display(fig);
}

// --- bar charts ---------------------------------------------------------------------------------------------------

export interface Bar {
  label: string;
  value: number;
  /** Half-width of the error bar, e.g. the standard deviation over seeds. */
  error?: number;
}

export interface BarGroup {
  /** Legend name of this group (e.g. the model). */
  name: string;
  /** One value per category. */
  values: number[];
  errors?: number[];
}

export interface BarChartOptions {
  /** Single bars... */
  bars?: Bar[];
  /** ...or grouped bars: one group per model, one value per category (e.g. per task). */
  groups?: BarGroup[];
  categories?: string[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  horizontal?: boolean;
  /** Value-axis range, e.g. [0.6, 0.9]: bars from 0 hide differences of a point or two. */
  valueRange?: [number, number];
  height?: number;
  show?: boolean;
}

/** Bars with optional error bars: accuracies of models, spread over seeds. */
export function barChart(o: BarChartOptions): Figure {
  if (!o || (o.bars === undefined) === (o.groups === undefined)) {
    throw new Error("barChart needs exactly one of bars: [{ label, value, error? }] or groups: [{ name, values, errors? }] with categories");
  }
  const errorBars = (errs: number[] | undefined): Json | undefined =>
    errs && errs.some((e) => e !== undefined) ? { type: "data", array: errs.map((e) => e ?? 0), visible: true } : undefined;
  const orient = (cats: string[], vals: number[]): Json =>
    o.horizontal ? { x: vals, y: cats, orientation: "h" } : { x: cats, y: vals };
  let data: Json[];
  let summary: string;
  if (o.bars) {
    if (o.bars.length === 0) throw new Error("barChart bars is empty: give at least one { label, value }");
    checkNumbers("barChart bars[].value", o.bars.map((b) => b.value), "each bar needs a numeric value");
    const err = errorBars(o.bars.map((b) => b.error as number));
    const trace: Json = { type: "bar", ...orient(o.bars.map((b) => label(b.label)), o.bars.map((b) => b.value)) };
    if (err) trace[o.horizontal ? "error_x" : "error_y"] = err;
    data = [trace];
    summary = o.bars.map((b) => `${b.label} ${formatNumber(b.value)}${b.error !== undefined ? ` ±${formatNumber(b.error)}` : ""}`).join(", ");
  } else {
    const groups = o.groups as BarGroup[];
    const cats = o.categories;
    if (!cats || cats.length === 0) throw new Error("barChart groups need categories: the names of the values in each group");
    data = groups.map((g, i) => {
      checkNumbers(`barChart groups[${i}].values`, g.values, "pass one number per category");
      if (g.values.length !== cats.length) {
        throw new Error(`barChart groups[${i}] (${g.name}) has ${g.values.length} values for ${cats.length} categories: give one per category`);
      }
      if (g.errors && g.errors.length !== cats.length) {
        throw new Error(`barChart groups[${i}] (${g.name}) has ${g.errors.length} errors for ${cats.length} categories: give one per category`);
      }
      const trace: Json = { type: "bar", name: label(g.name), ...orient(cats.map(label), g.values) };
      const err = errorBars(g.errors);
      if (err) trace[o.horizontal ? "error_x" : "error_y"] = err;
      return trace;
    });
    summary = groups.map((g) => `${g.name}: ${g.values.map((v) => formatNumber(v)).join(", ")}`).join("; ");
  }
  const layout = baseLayout(o);
  layout.barmode = "group";
  if (o.valueRange) (layout[o.horizontal ? "xaxis" : "yaxis"] as Json).range = o.valueRange;
  const fig = figure("bar chart", data, layout, `${o.title ?? ""} — ${summary}`);
  return o.show === false ? fig : display(fig);
}
