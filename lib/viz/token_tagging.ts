// Views of lib/tasks/token_tagging.ts's runs for notebook 03, sections 4 and 5: tables of token accuracy and
// final loss, loss curves, the MLP-ratio sweep, and the deep-stack study's gradients.
import { Figure, lineChart } from "./plot";
import { Table, showTable } from "./table";
import { movingAverage } from "./alignment";
import { summarised } from "./display";
import type { TaggerRun, RatioSweepRow, DepthStudy } from "../tasks/token_tagging";

function checkRuns(fn: string, runs: readonly TaggerRun[]): void {
  if (!Array.isArray(runs) || runs.length === 0) throw new Error(`${fn} got no runs: pass what runTaggerConfigs / depthStudy returned.`);
}

/** One row per run: token accuracy, final loss, parameters. */
export function taggerRunsTable(runs: readonly TaggerRun[], title: string): Table {
  checkRuns("taggerRunsTable", runs);
  return showTable(runs.map((r) => ({ model: r.name, "token accuracy": r.accuracy, "final loss": r.loss, parameters: r.params })), { title, precision: 3 });
}

/** Training loss per step, one line per run; `smooth` > 1 draws a trailing moving average over that many steps. */
export function taggerLossCurves(runs: readonly TaggerRun[], opts: { title: string; smooth?: number }): Figure {
  checkRuns("taggerLossCurves", runs);
  const smooth = opts.smooth ?? 1;
  return lineChart({
    title: opts.title,
    xLabel: "step",
    yLabel: "cross-entropy",
    series: runs.map((r) => {
      const y = r.history.steps.map((s) => s.loss);
      return { name: r.name, x: r.history.steps.map((s) => s.step), y: smooth > 1 ? movingAverage(y, smooth) : y };
    }),
  });
}

/** mlpRatioSweep's rows as a table, and accuracy and loss against the ratio. */
export function ratioSweepView(rows: RatioSweepRow[], opts: { title: string }): { table: Table; chart: Figure } {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("ratioSweepView got no rows: pass mlpRatioSweep(...).rows.");
  const table = showTable(rows, { title: opts.title, precision: 3 });
  const x = rows.map((r) => r.mlpRatio);
  const chart = lineChart({
    title: "MLP ratio sweep (parity of three signs)",
    xLabel: "mlpRatio",
    series: [
      { name: "token accuracy (mean)", x, y: rows.map((r) => r["token accuracy (mean)"]) },
      { name: "final training loss (mean)", x, y: rows.map((r) => r["final loss (mean)"]) },
    ],
  });
  return summarised({ table, chart }, `[MLP ratio sweep] ${opts.title}`, true);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * depthStudy as a table (accuracy, loss, median gradient norm in training, gradient at the first and last block
 * at initialisation) and three charts: smoothed loss (8 steps), gradient norm per step, gradient per block at init.
 */
export function depthStudyView(study: DepthStudy, opts: { depth: number }): { table: Table; charts: Figure[] } {
  checkRuns("depthStudyView", study?.runs);
  const { depth } = opts;
  if (study.initialGradients.some((g) => g.norms.length !== depth)) {
    throw new Error(`depthStudyView depth (${depth}) must equal the number of blocks measured (${study.initialGradients[0]?.norms.length}).`);
  }
  const { runs, initialGradients } = study;
  const table = showTable(
    runs.map((r, i) => ({
      model: r.name,
      "token accuracy": r.accuracy,
      "final loss": r.loss,
      "median ‖gradient‖ in training": median(r.history.steps.map((s) => s.gradNorm)),
      "‖gradient‖ at block 0, init": initialGradients[i].norms[0],
      [`‖gradient‖ at block ${depth - 1}, init`]: initialGradients[i].norms[depth - 1],
    })),
    { title: `${depth} full blocks (attention + MLP) on XOR in context`, precision: 3 },
  );
  const charts = [
    // Loss per step is noisy: a moving average over 8 steps shows the trend.
    taggerLossCurves(runs, { title: `Training loss, ${depth} blocks (moving average over 8 steps)`, smooth: 8 }),
    lineChart({
      title: "Gradient norm per step (all parameters)",
      xLabel: "step",
      yLabel: "‖gradient‖",
      logY: true,
      series: runs.map((r) => ({ name: r.name, x: r.history.steps.map((s) => s.step), y: r.history.steps.map((s) => s.gradNorm) })),
    }),
    lineChart({
      title: "Gradient reaching each block at initialisation",
      xLabel: "block (0 = nearest the input)",
      yLabel: "‖gradient of the block's parameters‖",
      logY: true,
      series: initialGradients.map((g) => ({ name: g.name, x: g.norms.map((_, i) => i), y: g.norms })),
    }),
  ];
  return summarised({ table, charts }, `[depth study] ${depth} blocks: ${runs.map((r) => `${r.name} ${r.accuracy.toFixed(3)}`).join(", ")}`, true);
}
