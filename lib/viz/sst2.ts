// The SST-2 comparison of notebook 03, section 6: classifiers trained by lib/tasks/sst2_runs.ts beside the
// majority-class baseline, scored on dev (accuracy, macro-F1 from lib/eval/metrics.ts), and their validation
// macro-F1 per epoch.
import { Figure, lineChart } from "./plot";
import { Table, showTable } from "./table";
import { summarised } from "./display";
import { accuracy, macroF1 } from "../eval/metrics";
import type { Sst2Run } from "../tasks/sst2_runs";
import type { EvalInfo } from "../train/trainer";

export interface Sst2RunsViewOptions {
  runs: readonly Sst2Run[];
  /** Dev labels, in the order the runs predicted them. */
  gold: number[];
  /** majorityBaseline(train, dev). */
  majority: { label: number; accuracy: number };
  title: string;
}

/** Table: one row per run (dev accuracy, macro-F1, parameters, seconds per epoch) under the majority class; chart: validation macro-F1 per epoch. */
export function sst2RunsView(o: Sst2RunsViewOptions): { table: Table; chart: Figure } {
  if (!Array.isArray(o.runs) || o.runs.length === 0) throw new Error("sst2RunsView got no runs: pass what trainSst2Classifier returned.");
  for (const r of o.runs) {
    if (r.pred.length !== o.gold.length) throw new Error(`sst2RunsView: run "${r.name}" has ${r.pred.length} predictions for ${o.gold.length} gold labels: predict the same dev set.`);
  }
  const { gold, majority } = o;
  const table = showTable(
    [
      { model: "majority class", accuracy: majority.accuracy, "macro-F1": macroF1(gold, gold.map(() => majority.label), 2), parameters: 0, "s / epoch": 0 },
      ...o.runs.map((r) => ({
        model: r.name,
        accuracy: accuracy(gold, r.pred),
        "macro-F1": macroF1(gold, r.pred, 2),
        parameters: r.model.paramCount(),
        "s / epoch": r.history.seconds / r.history.evals.length,
      })),
    ],
    { title: o.title, precision: 3 },
  );
  const chart = lineChart({
    title: "Validation macro-F1 per epoch",
    xLabel: "epoch",
    series: o.runs.map((r) => ({ name: r.name, x: r.history.evals.map((e: EvalInfo) => e.epoch), y: r.history.evals.map((e: EvalInfo) => e.valScore ?? NaN) })),
  });
  return summarised({ table, chart }, `[SST-2 runs] ${o.title}`, true);
}
