// The experiments of notebook 04, one call each: pre-train a model (cached, with held-out evaluations along
// the way), fine-tune it on a small slice of SST-2, and read its frozen features with a linear probe.
//
//   const run = await runPretraining({ name: "electra-s0", model: { ...arch, objective: "electra" }, corpus, settings });
//   run.evals            // held-out losses vs their yardsticks every `evalEvery` steps (see lib/models/electra_eval)
//   await finetuneSst2(run.model, sst, { seed: 0 })      // SST-2 dev accuracy
//   await frozenReadout(run.model.main, sst)             // linear-probe accuracy and feature collapse
//
// The notebook's sizes and the runners of its sections 5-7, built from these calls: lib/tasks/electra_study.ts.
import * as path from "path";
import { ElectraModel, ElectraOptions, TokenIds, resolveElectraConfig } from "../models/electra";
import { linearProbe, meanPairwiseCosine, sentenceFeatures } from "../models/electra_eval";
import { CacheStatus, cacheStatus, checkpointDir, pretrainCached } from "../models/pretrain_cache";
import { LabelledIds } from "../models/classifier";
import { TransformerEncoder } from "../nn/transformer";
import { Trainer } from "../train/trainer";
import { checkpointStatus, loadCheckpoint, saveCheckpoint } from "../train/checkpoint";
import { ElectraCurves, StepEval, pretrainElectra } from "./electra_pretrain";
import { loadSst2, LoadOptions } from "../data/corpora";
import { WordPieceTokenizer } from "../data/wordpiece";
import { Rng } from "../random";
import { PretrainingCorpus } from "./pretraining_corpus";

export interface PretrainSettings {
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Linear warm-up over this share of the steps, then linear decay (default 0.1). */
  warmupFraction?: number;
  /** Held-out evaluation every this many steps (default steps / 8), and at the end. */
  evalEvery?: number;
  /** Held-out windows per evaluation (default 64). */
  heldOutExamples?: number;
  /** Extra checkpoints saved at these steps (for the quality-vs-compute plot). */
  snapshots?: number[];
  /** Start the main model's MLM head at the corpus's unigram distribution (default true; see TiedMlmHead). */
  unigramInit?: boolean;
  /** The generator's head too (default false: ELECTRA's generator starts near-uniform, as in the paper). */
  generatorUnigramInit?: boolean;
  seed?: number;
}

export interface PretrainResult {
  name: string;
  model: ElectraModel;
  /** Per-step training metrics (moving targets: each batch is new text). */
  curves: ElectraCurves;
  /** Held-out evaluations, step 0 (untrained) first. */
  evals: StepEval[];
  /** Seconds the pre-training took when it ran (also when loaded from the cache). */
  seconds: number;
  loaded: boolean;
  /** Training FLOPs per step (lib/models/flops.ts) at the corpus's window length. */
  flopsPerStep: number;
}

/** runPretraining's options: one pre-training run, cached under checkpoints/<name> (snapshots: <name>-at<step>). */
export interface PretrainingOptions {
  name: string;
  model: Omit<ElectraOptions, "vocabSize">;
  corpus: PretrainingCorpus;
  settings: PretrainSettings;
  /** Two-stage pre-training: the main encoder starts from this model's (ElectraModel.initMainFrom). */
  init?: ElectraModel;
  /** Retrain even when cached (default false). */
  force?: boolean;
  log?: (l: string) => void;
}

const snapshotDir = (name: string, step: number): string => checkpointDir(`${name}-at${step}`);
// JSON stores NaN as null: read numbers back as numbers.
const numeric = <T>(o: Record<string, unknown>): T => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (typeof x === "number" ? x : Number.NaN)) : typeof v === "number" ? v : Number.NaN])) as T;

// What a run's cache depends on, built once for runPretraining and pretrainingCacheStatus so the two cannot differ.
function cacheSpec(o: PretrainingOptions) {
  const s = o.settings;
  const evalEvery = s.evalEvery ?? Math.max(1, Math.round(s.steps / 8));
  const snapshots = s.snapshots ?? [];
  const key = {
    // Bump `recipe` when what a run does changes without its settings changing, so stale caches retrain.
    recipe: 3, ...s, evalEvery, snapshots, unigramInit: s.unigramInit ?? true, generatorUnigramInit: s.generatorUnigramInit ?? false, windows: o.corpus.train.length, windowLength: o.corpus.windowLength, vocab: o.corpus.tokenizer.size,
    init: o.init ? JSON.stringify(o.init.config()) : null,
  };
  const modelOptions: ElectraOptions = { maxLen: o.corpus.windowLength + 1, ...o.model, vocabSize: o.corpus.tokenizer.size };
  const config = { ...resolveElectraConfig(modelOptions) }; // = new ElectraModel(modelOptions).config(), without building it
  // Every snapshot (what loadSnapshot reads), saved by the run that saved the weights: one newer than them was
  // left by an interrupted run with other settings, and would put another run's point on the curve.
  const alsoNeeds = (main: { savedAt?: string }): CacheStatus => {
    for (const step of snapshots) {
      const dir = snapshotDir(o.name, step);
      const where = path.relative(process.cwd(), dir);
      const ck = checkpointStatus(dir, { model: ElectraModel.name, config });
      if (!ck.found) return { cached: false, why: `run ${o.name} lacks its snapshot at step ${step} (${where})` };
      if (!ck.ok) return { cached: false, why: `run ${o.name}'s snapshot at step ${step} cannot be loaded: ${ck.why}` };
      if (main.savedAt && ck.savedAt && ck.savedAt > main.savedAt) return { cached: false, why: `run ${o.name}'s snapshot at step ${step} is newer than its weights (left by an interrupted run with other settings)` };
    }
    return { cached: true, why: `run ${o.name} is cached under ${path.relative(process.cwd(), checkpointDir(o.name))}` };
  };
  return { dir: checkpointDir(o.name), key, evalEvery, snapshots, modelOptions, config, alsoNeeds };
}

/**
 * Whether runPretraining(o) would load its run from the cache rather than train (the same decision it makes):
 * a verified checkpoint of this model config, settings and corpus (sizes), its results, and every snapshot.
 * `why` says what is missing or different, e.g. "checkpoints/e04-full-bert-s0 was made with a different
 * configuration (cacheKey.steps: saved 1200, model 9600)" or "run e04-full-bert-s0 lacks its snapshot at step 4800".
 */
export function pretrainingCacheStatus(o: PretrainingOptions): CacheStatus {
  if (o.force) return { cached: false, why: "force: true" };
  const c = cacheSpec(o);
  return cacheStatus({ dir: c.dir, model: ElectraModel.name, config: c.config, key: c.key, alsoNeeds: c.alsoNeeds });
}

/**
 * One pre-training experiment: build an ElectraModel (any objective) for the corpus, start its MLM heads at the
 * unigram distribution, pre-train it with pretrainElectra on the corpus's windows, evaluating on held-out windows
 * as it goes. Cached under checkpoints/<name>: a re-run with the same settings loads instead of training (ask
 * first with pretrainingCacheStatus). `init`: two-stage pre-training (PretrainingOptions).
 */
export async function runPretraining(o: PretrainingOptions): Promise<PretrainResult> {
  const s = o.settings;
  const c = cacheSpec(o);
  const heldOut = o.corpus.heldOut.slice(0, s.heldOutExamples ?? 64);
  const r = await pretrainCached({
    dir: c.dir,
    key: c.key,
    alsoNeeds: c.alsoNeeds,
    force: o.force,
    log: o.log,
    make: () => new ElectraModel(c.modelOptions),
    train: async (model) => {
      if (o.init) model.initMainFrom(o.init);
      if (s.unigramInit ?? true) model.setUnigramPrior(o.corpus.tokenCounts, { generator: s.generatorUnigramInit ?? false });
      const run = await pretrainElectra({
        model, examples: o.corpus.train, steps: s.steps, batchSize: s.batchSize, learningRate: s.learningRate, warmupFraction: s.warmupFraction,
        seed: s.seed ?? 0, heldOut, evalEvery: c.evalEvery, snapshots: { steps: c.snapshots, save: (step, m) => saveCheckpoint(snapshotDir(o.name, step), m, { config: m.config() }) },
      });
      return { curves: run.curves, evals: run.evals, seconds: run.seconds };
    },
  });
  const curves = numeric<ElectraCurves>(r.result.curves as unknown as Record<string, unknown>);
  const evals = (r.result.evals as unknown as Record<string, unknown>[]).map((e) => numeric<StepEval>(e));
  const flopsPerStep = r.model.trainingFlops({ batchSize: s.batchSize, seqLen: o.corpus.windowLength + 1 }).training;
  return { name: o.name, model: r.model, curves, evals, seconds: r.result.seconds, loaded: r.loaded, flopsPerStep };
}

/** A model saved at `step` of run `name` by runPretraining's snapshots (same options as the run). */
export function loadSnapshot(name: string, step: number, options: ElectraOptions): ElectraModel {
  const model = new ElectraModel(options);
  loadCheckpoint(snapshotDir(name, step), model, { config: model.config() });
  return model;
}

/** The labelled data for fine-tuning: a seeded slice of SST-2 train and all of SST-2 dev (our test set). */
export interface Sst2Slice {
  train: LabelledIds[];
  dev: LabelledIds[];
}

/** SST-2 through the pre-training tokenizer: `labelled` training sentences (seeded pick) and the dev set. */
export async function sst2Slice(tokenizer: WordPieceTokenizer, opts: { labelled: number; seed?: number; load?: LoadOptions }): Promise<Sst2Slice> {
  const train = await loadSst2("train", opts.load);
  const dev = await loadSst2("dev", opts.load);
  if (!(Number.isInteger(opts.labelled) && opts.labelled >= 2 && opts.labelled <= train.length)) {
    throw new Error(`labelled (${opts.labelled}) must be an integer from 2 to ${train.length}.`);
  }
  const pick = new Rng(opts.seed ?? 0).shuffle(train.map((_, i) => i)).slice(0, opts.labelled);
  const enc = (x: { text: string; label: 0 | 1 }): LabelledIds => {
    const ids = tokenizer.encode(x.text);
    return { ids: ids.length ? ids : [tokenizer.vocab.id("[UNK]")], label: x.label };
  };
  return { train: pick.map((i) => enc(train[i])), dev: dev.map(enc) };
}

export interface FinetuneOptions {
  seed?: number;
  /** Default 5 epochs, batch 32, learning rate 1e-3 with one epoch of warm-up. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
}

/**
 * Fine-tune a copy of the model's main encoder (the generator is dropped) with a new classification head, for a
 * fixed number of epochs (a held-out slice this small would make early stopping noisier than the effects we
 * measure), mean-pooled (pre-training has no sentence-level task, so [CLS] learns nothing in it) -> dev accuracy.
 */
export async function finetuneSst2(model: ElectraModel, data: Sst2Slice, o: FinetuneOptions = {}): Promise<number> {
  const seed = o.seed ?? 0;
  const classifier = model.toClassifier({ numClasses: 2, seed, pooling: "mean" });
  const batchSize = o.batchSize ?? 32;
  const trainer = new Trainer(classifier, {
    batchSize, epochs: o.epochs ?? 5, learningRate: o.learningRate ?? 1e-3, seed, progress: false, plot: false,
    schedule: { kind: "linear", warmupSteps: Math.ceil(data.train.length / batchSize) },
  });
  try {
    await trainer.fit(data.train);
    return trainer.score(data.dev, "accuracy");
  } finally {
    trainer.dispose();
    classifier.dispose();
  }
}

/** What the frozen encoder offers: a linear probe's dev accuracy and the mean cosine between sentence features. */
export async function frozenReadout(encoder: TransformerEncoder, data: Sst2Slice, opts: { seed?: number } = {}): Promise<{ probe: number; meanCosine: number }> {
  const feats = (xs: LabelledIds[]) => sentenceFeatures(encoder, xs.map((x) => x.ids)).map((x, i) => ({ x, label: xs[i].label }));
  const train = feats(data.train);
  const dev = feats(data.dev);
  const probe = await linearProbe({ train, test: dev, seed: opts.seed ?? 0 });
  return { probe, meanCosine: meanPairwiseCosine(dev.map((d) => d.x)) };
}


export type { TokenIds };
