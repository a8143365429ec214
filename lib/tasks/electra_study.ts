// Notebook 04's study, one call per section: its sizes per mode (electraSettings, the only place quick and full
// mode differ), the Table 5 ablations against no pre-training (section 5), the generator-size sweep (section 6),
// quality vs pre-training compute and two-stage BERT -> ELECTRA (section 7). Each is built from the experiments of
// lib/tasks/electra_experiments.ts (cached pre-training, fine-tuning, a linear probe); views: lib/viz/electra.ts.
//
//   const S = electraSettings();                                  // or electraSettings({ changes: { steps: 600 } })
//   const rows = await runAblations({ settings: S, corpus, data: sst, reuse: { electra: electraRun } });
//   const sweep = await runGeneratorSweep({ settings: S, corpus, data: sst, reuse: { 0.25: rows.electra } });
import { ElectraModel } from "../models/electra";
import { ElectraObjective } from "../models/electra_config";
import { PositionScheme } from "../nn/transformer";
import { Mode, MODES, mode as currentMode } from "../mode";
import { PretrainingCorpus } from "./pretraining_corpus";
import { PretrainResult, PretrainSettings, PretrainingOptions, Sst2Slice, finetuneSst2, frozenReadout, loadSnapshot, pretrainingCacheStatus, runPretraining } from "./electra_experiments";

/** Notebook 04's sizes: quick and full mode differ only here (`changes` overrides any of them, to experiment). */
export interface ElectraSizes {
  /** IMDB unlabelled reviews for pre-training (50,000 exist). */
  reviews: number;
  /** WordPiece vocabulary, specials included. */
  vocab: number;
  /** Tokens per packed window; the model reads [CLS] + window. */
  window: number;
  /** The discriminator's (and BERT's) width; heads and layers of the same encoder. */
  width: number;
  heads: number;
  layers: number;
  /** Pre-training: batch size, steps (the same for every objective) and learning rate. */
  batch: number;
  steps: number;
  lr: number;
  /** Share of tokens masked, the same for every objective (notebook section 4 says why 25%). */
  maskRate: number;
  /** How word order enters (notebook section 3 says why ALiBi). */
  positions: PositionScheme;
  /** With ALiBi: every head's slope times this (1 = the paper's; notebook section 4 measures 4). */
  alibiSlopeScale: number;
  /** SST-2 training sentences for fine-tuning, fine-tuning epochs, and fine-tuning seeds per pre-trained model. */
  labelled: number;
  ftEpochs: number;
  ftSeeds: number[];
  /** Generator widths to sweep, as fractions of the discriminator's width. */
  fractions: number[];
  /** Extra checkpoints (steps) for the quality-vs-compute plot. */
  snapshots: number[];
}

/** What electraSettings returns: the sizes, the mode, and the model and pre-training options built from them. */
export type ElectraSettings = ElectraSizes & {
  mode: Mode;
  /** Checkpoint names start with it: "e04-<mode>" (the notebook's cache names). */
  runPrefix: string;
  /** The encoder of sections 4-8: pre-LN, dropout 0.1, the sizes' positions and masking rate. */
  arch: { width: number; heads: number; layers: number; norm: "pre"; dropout: number; maskRate: number; positions: PositionScheme; alibiSlopeScale?: number };
  /** runPretraining's settings; every run copies them (snapshots only where a curve needs them). */
  pretrain: PretrainSettings & { snapshots: number[]; seed: number };
};

/**
 * Notebook 04's sizes per mode, and the encoder and pre-training settings built from them: quick mode is CI-sized
 * (a tiny corpus and model), full mode the teaching run. `changes` overrides sizes for "try it yourself".
 * `runPrefix` (default "e04-<mode>") starts every checkpoint name. Throws on an unknown mode, an unknown size
 * name, a size that is not a positive number, or a prefix a checkpoint name cannot hold.
 */
export function electraSettings(o: { mode?: Mode; changes?: Partial<ElectraSizes>; runPrefix?: string } = {}): ElectraSettings {
  const m = o.mode ?? currentMode();
  if (!MODES.includes(m)) throw new Error(`electraSettings mode "${m}" is not a mode: use one of ${MODES.join(", ")}.`);
  const full = m === "full";
  const sizes: ElectraSizes = {
    reviews: full ? 20000 : 700,
    vocab: full ? 8000 : 2000,
    window: full ? 63 : 31,
    width: full ? 128 : 64,
    heads: full ? 4 : 2,
    layers: 2,
    batch: full ? 32 : 16,
    steps: full ? 1200 : 120,
    lr: 2e-3,
    maskRate: 0.25,
    positions: "alibi",
    alibiSlopeScale: 1,
    labelled: full ? 1000 : 160,
    ftEpochs: full ? 5 : 2,
    ftSeeds: full ? [0, 1, 2] : [0],
    fractions: full ? [0.125, 0.25, 0.5, 1] : [0.25, 1],
    snapshots: full ? [300, 600] : [60],
  };
  for (const [k, v] of Object.entries(o.changes ?? {})) {
    if (!(k in sizes)) throw new Error(`electraSettings changes.${k} is not a size: use one of ${Object.keys(sizes).join(", ")}.`);
    const ok = k === "positions" ? typeof v === "string" : Array.isArray(v) ? v.length > 0 && v.every((x) => typeof x === "number" && x >= 0) : typeof v === "number" && v > 0;
    if (!ok) throw new Error(`electraSettings changes.${k} (${JSON.stringify(v)}) must be ${k === "positions" ? "a position scheme" : Array.isArray(v) ? "a non-empty list of numbers >= 0" : "a positive number"}.`);
  }
  const runPrefix = o.runPrefix ?? `e04-${m}`;
  if (!/^[A-Za-z0-9._-]+$/.test(runPrefix)) throw new Error(`electraSettings runPrefix "${runPrefix}" must use letters, digits, ".", "_" or "-" (it names checkpoints).`);
  const S: ElectraSizes = { ...sizes, ...o.changes };
  if (S.positions !== "alibi" && S.alibiSlopeScale !== 1) throw new Error(`electraSettings changes.alibiSlopeScale (${S.alibiSlopeScale}) applies to positions "alibi" only (positions are "${S.positions}"): leave it out.`);
  return {
    ...S,
    mode: m,
    runPrefix,
    arch: {
      width: S.width, heads: S.heads, layers: S.layers, norm: "pre", dropout: 0.1, maskRate: S.maskRate, positions: S.positions,
      ...(S.alibiSlopeScale !== 1 ? { alibiSlopeScale: S.alibiSlopeScale } : {}),
    },
    // Keep this key order: runPretraining's cache key is built from it, so the cached checkpoints stay valid.
    pretrain: { steps: S.steps, batchSize: S.batch, learningRate: S.lr, snapshots: [], seed: 0 },
  };
}

/** One pre-trained encoder (or none) read out downstream: fine-tuned accuracy per seed, probe, feature collapse. */
export interface ElectraReadout {
  /** SST-2 dev accuracy after fine-tuning, one per seed of settings.ftSeeds (0..1). */
  scores: number[];
  /** Linear-probe dev accuracy on the frozen, mean-pooled features (0..1). */
  probe: number;
  /** Mean cosine between the dev sentences' features (near 1: collapsed). */
  cosine: number;
  /** The pre-training run, absent for no pre-training. */
  run?: PretrainResult;
}

/** Fine-tune with every seed of `seeds` (finetuneSst2) and probe the frozen features (frozenReadout): one row of the ablation table. */
export async function readOut(model: ElectraModel, o: { data: Sst2Slice; seeds: number[]; epochs: number; run?: PretrainResult }): Promise<ElectraReadout> {
  if (!(Array.isArray(o.seeds) && o.seeds.length > 0)) throw new Error(`readOut seeds (${JSON.stringify(o.seeds)}) must be a non-empty list of fine-tuning seeds, e.g. [0].`);
  const scores: number[] = [];
  for (const seed of o.seeds) scores.push(await finetuneSst2(model, o.data, { seed, epochs: o.epochs }));
  const { probe, meanCosine } = await frozenReadout(model.main, o.data);
  return { scores, probe, cosine: meanCosine, run: o.run };
}

/** The paper's Table 5 objectives in its order, with their GLUE dev scores (Clark et al. 2020, Table 5). */
export const TABLE5_OBJECTIVES: readonly ElectraObjective[] = ["electra", "all-tokens-mlm", "replace-mlm", "electra-15", "bert"];
export const TABLE5_GLUE: Record<ElectraObjective, number> = { electra: 85.0, "all-tokens-mlm": 84.3, "replace-mlm": 82.4, "electra-15": 82.4, bert: 82.2 };

/**
 * Section 5: pre-train every Table 5 objective (runs in `reuse` are taken as they are), read each out, and read
 * out a randomly initialised encoder of the same shape as "none". Checkpoints <runPrefix>-<objective>-s0.
 * Returns one readout per objective and "none"; the pre-trained models stay alive (dispose them with the runs).
 */
export async function runAblations(o: { settings: ElectraSettings; corpus: PretrainingCorpus; data: Sst2Slice; reuse?: Partial<Record<ElectraObjective, PretrainResult>> }): Promise<Record<string, ElectraReadout>> {
  const S = o.settings;
  const rows: Record<string, ElectraReadout> = {};
  const read = (model: ElectraModel, run?: PretrainResult) => readOut(model, { data: o.data, seeds: S.ftSeeds, epochs: S.ftEpochs, run });
  for (const objective of TABLE5_OBJECTIVES) {
    const run = o.reuse?.[objective] ?? (await runPretraining({ name: `${S.runPrefix}-${objective}-s0`, model: { ...S.arch, objective, seed: 0 }, corpus: o.corpus, settings: { ...S.pretrain } }));
    rows[objective] = await read(run.model, run);
  }
  const fresh = new ElectraModel({ ...S.arch, objective: "bert", vocabSize: o.corpus.tokenizer.size, maxLen: S.window + 1, seed: 0 });
  try {
    rows.none = await read(fresh);
  } finally {
    fresh.dispose();
  }
  return rows;
}

/**
 * Section 6: ELECTRA with each generator width of settings.fractions (runs <runPrefix>-electra-g<fraction>-s0; a
 * fraction in `reuse` is taken as it is). Each new model is disposed after its read-out. `best`: the fraction
 * with the highest mean fine-tuned accuracy (the first on ties).
 */
export async function runGeneratorSweep(o: { settings: ElectraSettings; corpus: PretrainingCorpus; data: Sst2Slice; reuse?: Record<number, ElectraReadout> }): Promise<{ rows: Record<number, ElectraReadout>; best: number }> {
  const S = o.settings;
  const rows: Record<number, ElectraReadout> = {};
  for (const fraction of S.fractions) {
    if (o.reuse?.[fraction]) {
      rows[fraction] = o.reuse[fraction];
      continue;
    }
    const run = await runPretraining({ name: `${S.runPrefix}-electra-g${fraction}-s0`, model: { ...S.arch, objective: "electra", generatorFraction: fraction, seed: 0 }, corpus: o.corpus, settings: S.pretrain });
    rows[fraction] = await readOut(run.model, { data: o.data, seeds: S.ftSeeds, epochs: S.ftEpochs, run });
    run.model.dispose();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const best = S.fractions.reduce((b, f) => (mean(rows[f].scores) > mean(rows[b].scores) ? f : b), S.fractions[0]);
  return { rows, best };
}

/** A point of the quality-vs-compute plot: pre-training FLOPs spent, mean fine-tuned dev accuracy (0..1). */
export interface ComputePoint {
  flops: number;
  acc: number;
  /** The pre-training step read out, and that encoder's linear probe and feature cosine (absent at compute 0 only when not measured). */
  step?: number;
  probe?: number;
  cosine?: number;
}

/**
 * Section 7: one pre-training run read at compute 0 (`start`, the no-pre-training readout), at each of its
 * snapshots (loaded and fine-tuned here) and at its end (`end`, its readout from section 5).
 */
export async function computeCurve(o: { run: PretrainResult; objective: ElectraObjective; settings: ElectraSettings; vocabSize: number; data: Sst2Slice; start: ElectraReadout; end: ElectraReadout; generatorFraction?: number }): Promise<ComputePoint[]> {
  const S = o.settings;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const point = (step: number, r: ElectraReadout): ComputePoint => ({ flops: o.run.flopsPerStep * step, acc: mean(r.scores), step, probe: r.probe, cosine: r.cosine });
  const points: ComputePoint[] = [point(0, o.start)];
  const gen = o.generatorFraction === undefined ? {} : { generatorFraction: o.generatorFraction };
  for (const step of S.snapshots) {
    const m = loadSnapshot(o.run.name, step, { ...S.arch, objective: o.objective, seed: 0, ...gen, vocabSize: o.vocabSize, maxLen: S.window + 1 });
    try {
      points.push(point(step, await readOut(m, { data: o.data, seeds: S.ftSeeds, epochs: S.ftEpochs })));
    } finally {
      m.dispose();
    }
  }
  points.push(point(S.steps, o.end));
  return points;
}

/** Section 7's long run per mode: steps and snapshots of each run, and ELECTRA's generator width. */
export const LONG_RUN: Record<Mode, { steps: number; snapshots: number[]; generatorFraction: number }> = {
  quick: { steps: 60, snapshots: [30], generatorFraction: 0.5 },
  full: { steps: 9600, snapshots: [1200, 2400, 4800, 7200], generatorFraction: 0.5 },
};
/** Set to 1 to run the full-mode long run (it is not part of the notebook's 1.5-hour budget). */
export const LONG_RUN_ENV = "NLU_LONG_RUN";

/** What longRunPlan decides: the long run's settings, its two pre-training runs, and whether (and why) it runs now. */
export interface LongRunPlan {
  settings: ElectraSettings;
  generatorFraction: number;
  /** runPretraining's options for each run, exactly as runLongRun will pass them (so the cache check is the real one). */
  runs: { electra: PretrainingOptions; bert: PretrainingOptions };
  /** The runs' checkpoint names. */
  names: { electra: string; bert: string };
  run: boolean;
  reason: string;
}

/**
 * Section 7's long run: ELECTRA (a generator of LONG_RUN's width) and BERT with the notebook's sizes but
 * LONG_RUN[mode].steps, to find where pre-training overtakes no pre-training. Quick mode always runs its
 * toy-sized copy (the code path is tested); full mode runs when NLU_LONG_RUN=1 or when runPretraining would load
 * both runs from the cache (pretrainingCacheStatus: same settings and corpus, every snapshot there), and otherwise
 * says why not in `reason`. `corpus`: the notebook's pre-training corpus (the runs' cache key depends on it).
 * `changes` overrides LONG_RUN's sizes (to try it, or to test it). Throws if NLU_LONG_RUN is set to anything but 0
 * or 1, on a missing corpus, or on sizes that cannot run.
 */
export function longRunPlan(o: { settings: ElectraSettings; corpus: PretrainingCorpus; env?: NodeJS.ProcessEnv; changes?: Partial<(typeof LONG_RUN)[Mode]> }): LongRunPlan {
  const S = o.settings;
  const L = { ...LONG_RUN[S.mode], ...o.changes };
  if (!(Number.isInteger(L.steps) && L.steps > 0 && L.snapshots.every((k) => Number.isInteger(k) && k > 0 && k < L.steps) && L.generatorFraction > 0)) {
    throw new Error(`longRunPlan changes (${JSON.stringify(o.changes)}): steps must be a positive integer, snapshots integers between 0 and steps, generatorFraction > 0.`);
  }
  if (!o.corpus?.tokenizer) throw new Error("longRunPlan corpus is missing: pass the notebook's pre-training corpus (preparePretrainingCorpus), which the runs' cache is keyed by.");
  const raw = (o.env ?? process.env)[LONG_RUN_ENV]?.trim() ?? "";
  if (!["", "0", "1"].includes(raw)) throw new Error(`${LONG_RUN_ENV}="${raw}" is not a switch: use 1 to run the long run, 0 or unset to skip it.`);
  const settings: ElectraSettings = { ...S, steps: L.steps, snapshots: L.snapshots, pretrain: { ...S.pretrain, steps: L.steps } };
  const names = { electra: `${S.runPrefix}-electra-g${L.generatorFraction}-long${L.steps}-s0`, bert: `${S.runPrefix}-bert-long${L.steps}-s0` };
  // Key order as in every other run: runPretraining's cache key is built from these objects.
  const spec = (objective: "electra" | "bert"): PretrainingOptions => ({
    name: names[objective],
    model: { ...S.arch, objective, seed: 0, ...(objective === "electra" ? { generatorFraction: L.generatorFraction } : {}) },
    corpus: o.corpus,
    settings: { ...settings.pretrain, snapshots: L.snapshots },
  });
  const runs = { electra: spec("electra"), bert: spec("bert") };
  const base = { settings, generatorFraction: L.generatorFraction, runs, names };
  if (S.mode === "quick") return { ...base, run: true, reason: `quick mode: a toy-sized long run (${L.steps} steps)` };
  if (raw === "1") return { ...base, run: true, reason: `${LONG_RUN_ENV}=1` };
  const stale = (["electra", "bert"] as const).map((k) => pretrainingCacheStatus(runs[k])).filter((st) => !st.cached);
  if (!stale.length) return { ...base, run: true, reason: "both runs are cached under checkpoints/" };
  const why = stale.map((st) => st.why).join("; ");
  return { ...base, run: false, reason: `skipped (${why}): set ${LONG_RUN_ENV}=1 to pre-train ELECTRA and BERT for ${L.steps} steps each (see the measured time below)` };
}

/** The long run's curves: for each model, no pre-training at compute 0, every snapshot, then the end (with probe and cosine). */
export interface LongRunResult {
  electra: ComputePoint[];
  bert: ComputePoint[];
  flopsPerStep: { electra: number; bert: number };
  /** Wall-clock seconds each pre-training took when it ran (also when its run was loaded from the cache). */
  seconds: { electra: number; bert: number };
}

/** Run longRunPlan's plan (throws if the plan says not to run): pre-train both, read each out at every snapshot and at its end. */
export async function runLongRun(o: { plan: LongRunPlan; data: Sst2Slice; start: ElectraReadout }): Promise<LongRunResult> {
  if (!o.plan.run) throw new Error(`runLongRun: the plan does not run (${o.plan.reason}).`);
  const S = o.plan.settings;
  const one = async (objective: "electra" | "bert") => {
    const spec = o.plan.runs[objective];
    const run = await runPretraining(spec);
    try {
      const end = await readOut(run.model, { data: o.data, seeds: S.ftSeeds, epochs: S.ftEpochs, run });
      const gen = objective === "electra" ? o.plan.generatorFraction : undefined;
      const curve = await computeCurve({ run, objective, settings: S, vocabSize: spec.corpus.tokenizer.size, data: o.data, start: o.start, end, generatorFraction: gen });
      return { curve, flops: run.flopsPerStep, seconds: run.seconds };
    } finally {
      run.model.dispose();
    }
  };
  const e = await one("electra");
  const b = await one("bert");
  return { electra: e.curve, bert: b.curve, flopsPerStep: { electra: e.flops, bert: b.flops }, seconds: { electra: e.seconds, bert: b.seconds } };
}

/**
 * Section 7, the paper's two-stage training (§3.2): BERT for half the steps, then ELECTRA from its weights
 * (initMainFrom) for the other half (runs <runPrefix>-two-stage-bert-s0 and -electra-s0). Returns the second
 * stage's readout and its point on the quality-vs-compute plot (the FLOPs of both stages); both models are disposed.
 */
export async function runTwoStage(o: { settings: ElectraSettings; corpus: PretrainingCorpus; data: Sst2Slice }): Promise<{ readout: ElectraReadout; point: ComputePoint }> {
  const S = o.settings;
  const half = { ...S.pretrain, steps: Math.round(S.steps / 2) };
  const stage1 = await runPretraining({ name: `${S.runPrefix}-two-stage-bert-s0`, model: { ...S.arch, objective: "bert", seed: 0 }, corpus: o.corpus, settings: half });
  try {
    const stage2 = await runPretraining({ name: `${S.runPrefix}-two-stage-electra-s0`, model: { ...S.arch, objective: "electra", seed: 0 }, corpus: o.corpus, settings: half, init: stage1.model });
    try {
      const readout = await readOut(stage2.model, { data: o.data, seeds: S.ftSeeds, epochs: S.ftEpochs, run: stage2 });
      const acc = readout.scores.reduce((a, b) => a + b, 0) / readout.scores.length;
      return { readout, point: { flops: stage1.flopsPerStep * half.steps + stage2.flopsPerStep * half.steps, acc } };
    } finally {
      stage2.model.dispose();
    }
  } finally {
    stage1.model.dispose();
  }
}

