// Views for lecture 4: one sentence through ELECTRA as a coloured table, pre-training curves against their
// context-free yardsticks, and a paper's claims with verdicts.
//
//   showElectraExplanation(model.explain(ids, { vocab }), "Untrained ELECTRA");
//   pretrainingChart([{ name: "BERT, learned positions", evals: run.evals }], { unigram: corpus.unigramEntropy });
//   showClaims(checkClaims([...]), "The paper's orderings, checked on this run");
//   ablationView({ rows, steps, unigram, title })   generatorSweepView({ rows, fractions, width })   computeView({ ... })
//   longRunView(await runLongRun({ plan, data, start }))
import type { ElectraExplanation } from "../models/electra";
import type { ClaimResult } from "../eval/claims";
import type { PretrainingEval } from "../models/electra_eval";
import { showTable, Table } from "./table";
import { summarised } from "./display";
import { duration } from "./progress";
import type { ComputePoint, ElectraReadout, LongRunResult } from "../tasks/electra_study";
import { Figure, Series, barChart, lineChart } from "./plot";
import { sampleSd } from "../eval/claims";

const RED = "#f4a6a6";
const GREEN = "#b7e4b7";
const GREY = "#dddddd";

/**
 * The explanation as a table, one row per stage and one column per position: grey = chosen for masking, red =
 * replaced (hover shows the original), green = the generator sampled the original back (labelled original),
 * and the discriminator's P(replaced) as the red's opacity. Needs `tokens` (call explain with a vocab).
 */
export function showElectraExplanation(e: ElectraExplanation, title: string): Table {
  if (!e.tokens) throw new Error("showElectraExplanation needs tokens: call model.explain(ids, { vocab }) with the vocabulary.");
  const t = e.tokens;
  const chosen = new Set(e.positions);
  const columns = t.original.map((_, j) => String(j));
  type Stage = { name: string; cells: string[]; colour: (j: number) => string; title?: (j: number) => string };
  const stages: Stage[] = [
    { name: "original", cells: t.original, colour: () => "" },
    { name: "masked (generator input)", cells: t.masked, colour: (j) => (chosen.has(j) ? GREY : "") },
    { name: "generator sample", cells: t.original.map((_, j) => (chosen.has(j) ? t.corrupted[j] : "")), colour: (j) => (!chosen.has(j) ? "" : e.labels[j] ? RED : GREEN) },
    { name: "corrupted (discriminator input)", cells: t.corrupted, colour: (j) => (e.labels[j] ? RED : ""), title: (j) => (e.labels[j] ? `original: ${t.original[j]}` : "") },
    { name: "label", cells: e.labels.map((y) => (y ? "replaced" : "original")), colour: (j) => (e.labels[j] ? RED : "") },
  ];
  const p = e.probs;
  if (p) {
    stages.push({ name: "P(replaced)", cells: p.map((x) => x.toFixed(2)), colour: (j) => `rgba(214,39,40,${p[j].toFixed(3)})`, title: (j) => `discriminator: P(replaced) = ${p[j].toFixed(3)}` });
  }
  return showTable(
    stages.map((s) => ({ stage: s.name, ...Object.fromEntries(s.cells.map((c, j) => [columns[j], c])) })),
    {
      title,
      columns: ["stage", ...columns],
      colours: stages.map((s) => ["", ...columns.map((_, j) => s.colour(j))]),
      cellTitles: stages.map((s) => ["", ...columns.map((_, j) => (s.title ? s.title(j) : ""))]),
      maxRows: stages.length,
    },
  );
}

/** A paper's claims with our gaps, noise and verdicts; verdict cells green (holds), red (reversed), grey. */
export function showClaims(results: ClaimResult[], title = "The paper's orderings, checked on this run", opts: { precision?: number } = {}): Table {
  return showTable(
    results.map((r) => ({ claim: r.claim, "paper gap": r.paper, "our gap": r.ours, "noise (1 se; verdicts at 2 se)": r.noise, verdict: r.verdict })),
    {
      title,
      precision: opts.precision ?? 3,
      maxRows: Math.max(1, results.length),
      colours: (_, column, value) => (column !== "verdict" ? "" : value === "holds" ? GREEN : value === "reversed" ? RED : "#eeeeee"),
    },
  );
}

/** One run's held-out evaluations: a value per evaluated step. */
export interface EvalSeries {
  name: string;
  steps: number[];
  values: number[];
}

/**
 * Held-out losses along pre-training with flat yardsticks (e.g. the unigram entropy for MLM losses, the
 * base-rate entropy for a discriminator): the gap below a yardstick is what was learned from context.
 */
export function pretrainingChart(series: EvalSeries[], o: { title: string; yLabel?: string; yardsticks?: { name: string; value: number }[] }): Figure {
  const lastStep = Math.max(1, ...series.flatMap((s) => s.steps));
  const lines: Series[] = series.map((s) => ({ name: s.name, x: s.steps, y: s.values }));
  for (const y of o.yardsticks ?? []) lines.push({ name: y.name, x: [0, lastStep], y: [y.value, y.value] });
  return lineChart({ title: o.title, xLabel: "pre-training step", yLabel: o.yLabel ?? "held-out loss (nats)", series: lines });
}

/** One row of the ablation table: a pre-training objective (or none) and its read-outs. */
export interface AblationRow {
  name: string;
  /** The paper's GLUE score (Table 5), if it has one. */
  paper?: number;
  /** Fine-tuned dev accuracy per seed (0..1). */
  scores: number[];
  /** Linear-probe dev accuracy on frozen features (0..1). */
  probe: number;
  /** Mean cosine between sentence features. */
  cosine: number;
  /** Held-out evaluations (absent for no pre-training): the last one is shown. */
  evals?: PretrainingEval[];
  seconds?: number;
  /** Pre-training FLOPs of the whole run. */
  flops: number;
}

/** The ablation table: held-out read-outs of pre-training beside fine-tuned and probe accuracy (in %). */
export function ablationTable(rows: AblationRow[], o: { title: string; unigram: number }): Table {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
  return showTable(
    rows.map((r) => {
      const e = r.evals?.[r.evals.length - 1];
      // The MLM read-out: the main model's own MLM loss where it has one, else its generator's.
      const mlm = e ? (Number.isFinite(e.mainMlm) ? e.mainMlm : e.generatorMlm) : Number.NaN;
      return {
        objective: r.name,
        "paper GLUE": r.paper ?? "",
        "MLM below unigram": o.unigram - mlm,
        "disc. AUC": e ? e.auc : Number.NaN,
        "probe %": 100 * r.probe,
        "mean cos": r.cosine,
        "fine-tuned %": 100 * mean(r.scores),
        "± sd": 100 * sd(r.scores),
        "per seed": r.scores.map((x) => (100 * x).toFixed(1)).join(" / "),
        "pre-train TFLOPs": r.flops / 1e12,
        "pre-train s": r.seconds ?? 0,
      };
    }),
    { title: o.title, precision: 3, maxRows: Math.max(1, rows.length) },
  );
}

/** How tables and charts name the runs of notebook 04 (objectives, no pre-training, two-stage). */
export const ELECTRA_RUN_LABELS: Record<string, string> = {
  electra: "ELECTRA", "all-tokens-mlm": "All-Tokens MLM", "replace-mlm": "Replace MLM", "electra-15": "ELECTRA-15%", bert: "BERT",
  none: "no pre-training", "bert-electra": "two-stage BERT → ELECTRA", "electra-alibi4": "ELECTRA, ALiBi slopes ×4",
};

const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Section 5's read-outs: the ablation table (rows in the order of `order`, labelled by ELECTRA_RUN_LABELS, the
 * paper's GLUE score from `paper`) and a bar chart of fine-tuned (mean ± sd over seeds) and probe accuracy in %.
 * `steps`: pre-training steps per run, for the FLOPs column.
 */
export function ablationView(o: { rows: Record<string, ElectraReadout>; order: readonly string[]; paper: Record<string, number>; steps: number; unigram: number; title: string }): { table: Table; chart: Figure } {
  const missing = o.order.filter((k) => !o.rows[k]);
  if (missing.length) throw new Error(`ablationView: no readout for ${missing.join(", ")}: run them (runAblations) or leave them out of order.`);
  const table = ablationTable(
    o.order.map((k) => {
      const r = o.rows[k];
      return { name: ELECTRA_RUN_LABELS[k] ?? k, paper: o.paper[k], scores: r.scores, probe: r.probe, cosine: r.cosine, evals: r.run?.evals, seconds: r.run?.seconds, flops: r.run ? r.run.flopsPerStep * o.steps : 0 };
    }),
    { title: o.title, unigram: o.unigram },
  );
  const chart = barChart({
    title: "SST-2 dev accuracy: fine-tuned (mean ± sd over seeds) and a linear probe on frozen features",
    yLabel: "%",
    categories: o.order.map((k) => ELECTRA_RUN_LABELS[k] ?? k),
    groups: [
      { name: "fine-tuned", values: o.order.map((k) => 100 * meanOf(o.rows[k].scores)), errors: o.order.map((k) => 100 * sampleSd(o.rows[k].scores)) },
      { name: "linear probe, frozen", values: o.order.map((k) => 100 * o.rows[k].probe) },
    ],
  });
  return summarised({ table, chart }, `[ELECTRA ablations] ${o.title}`, true);
}

/** Section 6's generator-size sweep: held-out values at the end of pre-training and downstream accuracy, per width fraction. */
export function generatorSweepView(o: { rows: Record<number, ElectraReadout>; fractions: number[]; width: number }): { table: Table; chart: Figure } {
  for (const f of o.fractions) {
    if (!o.rows[f]?.run?.evals?.length) throw new Error(`generatorSweepView: fraction ${f} has no pre-training run with evaluations: pass runGeneratorSweep's rows.`);
  }
  const table = showTable(
    o.fractions.map((f) => {
      const r = o.rows[f];
      const e = r.run!.evals[r.run!.evals.length - 1];
      return { "generator / discriminator width": f, "generator width": Math.round(o.width * f), "generator MLM": e.generatorMlm, "share replaced": e.replacedFraction, "disc. AUC": e.auc, "probe %": 100 * r.probe, "fine-tuned %": 100 * meanOf(r.scores), "± sd": 100 * sampleSd(r.scores) };
    }),
    { title: "Generator size sweep (held-out values at the end of pre-training)", precision: 3 },
  );
  const chart = barChart({
    title: "Downstream accuracy vs generator size",
    xLabel: "generator width / discriminator width",
    yLabel: "SST-2 dev accuracy %",
    bars: o.fractions.map((f) => ({ label: `${f}×`, value: 100 * meanOf(o.rows[f].scores), error: 100 * sampleSd(o.rows[f].scores) })),
  });
  return summarised({ table, chart }, "[generator size sweep]", true);
}

/** Section 7: fine-tuned accuracy against pre-training FLOPs for ELECTRA and BERT (point 0 = no pre-training) and the two-stage run. */
export function computeView(o: { electra: ComputePoint[]; bert: ComputePoint[]; twoStage: ComputePoint; flopsPerStep: { electra: number; bert: number } }): { chart: Figure; table: Table } {
  const pct = (p: ComputePoint) => 100 * p.acc;
  const chart = lineChart({
    title: "SST-2 dev accuracy vs pre-training compute",
    xLabel: "pre-training compute (TFLOPs)",
    yLabel: "fine-tuned SST-2 dev accuracy %",
    series: [
      { name: `ELECTRA (${(o.flopsPerStep.electra / 1e9).toFixed(2)} GFLOPs / step)`, x: o.electra.map((p) => p.flops / 1e12), y: o.electra.map(pct) },
      { name: `BERT (${(o.flopsPerStep.bert / 1e9).toFixed(2)} GFLOPs / step)`, x: o.bert.map((p) => p.flops / 1e12), y: o.bert.map(pct) },
      { name: "two-stage BERT → ELECTRA", x: [o.twoStage.flops / 1e12], y: [pct(o.twoStage)] },
    ],
  });
  const table = showTable(
    [
      ...o.electra.map((p, i) => ({ model: "ELECTRA", TFLOPs: p.flops / 1e12, "fine-tuned %": pct(p), point: i })),
      ...o.bert.map((p, i) => ({ model: "BERT", TFLOPs: p.flops / 1e12, "fine-tuned %": pct(p), point: i })),
      { model: "two-stage", TFLOPs: o.twoStage.flops / 1e12, "fine-tuned %": pct(o.twoStage), point: 0 },
    ],
    { title: "Quality vs compute (point 0 = no pre-training)", precision: 3, maxRows: 30 },
  );
  return summarised({ chart, table }, "[quality vs compute]", true);
}

/**
 * Section 7's long run: fine-tuned accuracy of ELECTRA and BERT against pre-training FLOPs, with no pre-training
 * as a horizontal line (where a curve crosses it, pre-training starts to pay off), and a table of every
 * read-out (step, TFLOPs, fine-tuned %, probe %, mean feature cosine) whose title gives each pre-training's
 * measured wall time (from when it ran, also when it was loaded from the cache).
 */
export function longRunView(r: LongRunResult): { chart: Figure; table: Table } {
  const tf = (p: ComputePoint) => p.flops / 1e12;
  const none = 100 * r.electra[0].acc;
  const last = Math.max(tf(r.electra[r.electra.length - 1]), tf(r.bert[r.bert.length - 1]));
  const chart = lineChart({
    title: "The long run: fine-tuned SST-2 dev accuracy vs pre-training compute",
    xLabel: "pre-training compute (TFLOPs)",
    yLabel: "fine-tuned SST-2 dev accuracy %",
    markers: true,
    series: [
      { name: "ELECTRA", x: r.electra.map(tf), y: r.electra.map((p) => 100 * p.acc) },
      { name: "BERT", x: r.bert.map(tf), y: r.bert.map((p) => 100 * p.acc) },
      { name: "no pre-training", x: [0, last], y: [none, none] },
    ],
  });
  const rows = (model: string, ps: ComputePoint[]) =>
    ps.map((p) => ({ model, step: p.step ?? 0, TFLOPs: tf(p), "fine-tuned %": 100 * p.acc, "probe %": p.probe === undefined ? Number.NaN : 100 * p.probe, cosine: p.cosine ?? Number.NaN }));
  const table = showTable([...rows("ELECTRA", r.electra), ...rows("BERT", r.bert)], {
    title: `The long run, every read-out (step 0 = no pre-training); pre-training took ${duration(r.seconds.electra)} (ELECTRA) and ${duration(r.seconds.bert)} (BERT), wall clock`,
    precision: 3,
    maxRows: 40,
  });
  return summarised({ chart, table }, "[long run]", true);
}
