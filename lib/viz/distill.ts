// Views for lecture 6 (distillation): students against their teacher with the noise over seeds, and what a
// temperature does to a teacher's distribution.
import * as tf from "@tensorflow/tfjs";
import { softTargets } from "../train/distill";
import { barChart, Bar, Figure } from "./plot";
import { summarised } from "./display";
import { showTable, Table } from "./table";

export interface StudentRow {
  name: string;
  /** Mean dev accuracy over seeds, its standard deviation, and the number of seeds. */
  mean: number;
  std: number;
  n: number;
  params: number;
}

export interface StudentsViewOptions {
  title: string;
  rows: StudentRow[];
  /** Reference lines in the table (teachers): name, accuracy, parameters. */
  references?: { name: string; accuracy: number; params: number }[];
  /** Bar chart too (default true). */
  chart?: boolean;
}

/** A table (mean ± std over seeds, parameters, size ratio to the first reference) and a bar chart with error bars. */
export function studentsView(o: StudentsViewOptions): { table: Table; chart?: Figure } {
  const refs = o.references ?? [];
  const base = refs[0]?.params;
  // Numeric columns hold numbers, NaN where a value does not apply (shown as a dash), never "": the rows stay
  // usable as data (sorting, a DataFrame's filters and means).
  const rows = [
    ...refs.map((r) => ({ model: r.name, "dev accuracy": r.accuracy, "± std (seeds)": NaN, seeds: NaN, parameters: r.params, "× smaller": base ? base / r.params : NaN })),
    ...o.rows.map((r) => ({ model: r.name, "dev accuracy": r.mean, "± std (seeds)": r.n > 1 ? r.std : NaN, seeds: r.n, parameters: r.params, "× smaller": base ? base / r.params : NaN })),
  ];
  const table = showTable(rows, { title: o.title, precision: 3 });
  const text = `[students] ${o.title}: ${o.rows.map((r) => `${r.name} ${r.mean.toFixed(3)}`).join(", ")}`;
  if (o.chart === false) return summarised({ table }, text, true);
  const bars: Bar[] = [
    ...refs.map((r) => ({ label: r.name, value: r.accuracy })),
    ...o.rows.map((r) => ({ label: r.name, value: r.mean, error: r.n > 1 ? r.std : undefined })),
  ];
  const lo = Math.min(...bars.map((b) => b.value - (b.error ?? 0)));
  const hi = Math.max(...bars.map((b) => b.value + (b.error ?? 0)));
  const chart = barChart({
    title: `${o.title} (error bars: ± std over seeds)`, bars, yLabel: "SST-2 dev accuracy", height: 380,
    valueRange: [Math.max(0, lo - 0.05), Math.min(1, hi + 0.02)],
  });
  return summarised({ table, chart }, text, true);
}

export interface TemperatureViewOptions {
  /** A short label per sentence (shown on the x axis). */
  texts: string[];
  /** The teacher's logits for those sentences: [sentences][classes]. */
  logits: number[][];
  temperatures: number[];
  /** Which class's probability to draw (default 1, e.g. "positive"), and its name. */
  classIndex?: number;
  className?: string;
}

/** Grouped bars: p(class) of each sentence under softmax(z/T) for each T — higher T, flatter distributions. */
export function temperatureView(o: TemperatureViewOptions): Figure {
  const k = o.classIndex ?? 1;
  if (o.texts.length !== o.logits.length) throw new Error(`texts (${o.texts.length}) and logits (${o.logits.length}) must pair up: one row of logits per sentence.`);
  const groups = o.temperatures.map((T) => ({
    name: `T = ${T}`,
    values: tf.tidy(() => (softTargets(tf.tensor2d(o.logits), T).arraySync() as number[][]).map((p) => p[k])),
  }));
  const short = o.texts.map((t) => (t.length > 40 ? `${t.slice(0, 38)}…` : t));
  return barChart({ title: `The teacher's p(${o.className ?? `class ${k}`}) at each temperature`, groups, categories: short, yLabel: `p(${o.className ?? k})`, height: 400 });
}
