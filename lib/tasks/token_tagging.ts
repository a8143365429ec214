// Experiment runners for notebook 03, sections 4 and 5: is attention "a glorified linear network"? Each runner
// trains TokenTaggers (lib/models/token_tagger.ts, a stack of the library's TransformerBlocks with a classifier
// per token) on the XOR-of-signs tokens of lib/tasks/toy_tokens.ts with the one Trainer, and reports test token
// accuracy and the final training loss. Views of these runs: lib/viz/token_tagging.ts.
import { TokenTagger, TokenTaggerOptions, TokenExample } from "../models/token_tagger";
import { xorFeatureDim } from "./toy_tokens";
import { Trainer, History } from "../train/trainer";
import type { NormPlacement } from "../nn/transformer_block";

export interface TaggerRun {
  name: string;
  /** Token accuracy on the test examples. */
  accuracy: number;
  /** Mean training loss over the last tenth of the steps (finalLoss). */
  loss: number;
  params: number;
  history: History;
}

export interface TaggerFit {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

/** The model every run starts from; a config overrides any of it (section 4: no layer norm, seed 3). */
export const TAGGER_DEFAULTS = { width: 16, heads: 2, norm: "none" as NormPlacement, seed: 3 };

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Mean loss over the last tenth of the training steps (at least one step): the "final loss" of a run. */
export function finalLoss(history: Pick<History, "steps">): number {
  if (!history?.steps?.length) throw new Error("finalLoss got a history with no steps: train the model first.");
  const tail = history.steps.slice(-Math.max(1, Math.floor(history.steps.length / 10)));
  return mean(tail.map((s) => s.loss));
}

function checkFit(fn: string, fit: TaggerFit): void {
  for (const key of ["epochs", "batchSize"] as const) {
    if (!(Number.isInteger(fit?.[key]) && fit[key] >= 1)) throw new Error(`${fn} fit.${key} (${fit?.[key]}) must be a positive integer.`);
  }
  if (!(fit.learningRate > 0)) throw new Error(`${fn} fit.learningRate (${fit.learningRate}) must be a positive number, e.g. 1e-2.`);
}

function checkExamples(fn: string, what: string, xs: TokenExample[]): void {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error(`${fn} ${what} must be a non-empty array of token examples (e.g. from xorTokens).`);
}

export interface TrainTaggerOptions {
  /** How tables and plots call the run. */
  name: string;
  /** Overrides of TAGGER_DEFAULTS and inputDim (default xorFeatureDim()). */
  model?: Partial<TokenTaggerOptions>;
  train: TokenExample[];
  test: TokenExample[];
  fit: TaggerFit;
  /** Print one line per run (default true). */
  log?: boolean;
}

/** Train one TokenTagger (Trainer seed 0); report test token accuracy and the final loss, then dispose the model. */
export async function trainTagger(opts: TrainTaggerOptions): Promise<TaggerRun> {
  const { name, model: overrides = {}, train, test, fit, log = true } = opts;
  if (typeof name !== "string" || name === "") throw new Error("trainTagger name must be a non-empty string: it labels the run in tables.");
  checkExamples("trainTagger", "train", train);
  checkExamples("trainTagger", "test", test);
  checkFit("trainTagger", fit);
  const model = new TokenTagger({ inputDim: xorFeatureDim(), ...TAGGER_DEFAULTS, ...overrides });
  const trainer = new Trainer(model, { ...fit, seed: 0, progress: false, plot: false });
  try {
    const history = await trainer.fit(train);
    const run = { name, accuracy: model.tokenAccuracy(test), loss: finalLoss(history), params: model.paramCount(), history };
    if (log) console.log(`${name}: token accuracy ${run.accuracy.toFixed(3)}, final loss ${run.loss.toFixed(3)} (${history.steps.length} steps, ${history.seconds.toFixed(1)} s)`);
    return run;
  } finally {
    model.dispose();
    trainer.dispose();
  }
}

export interface TaggerConfig {
  name: string;
  model: Partial<TokenTaggerOptions>;
}

/** trainTagger for each config in turn, on the same data and fit. */
export async function runTaggerConfigs(opts: { configs: TaggerConfig[]; train: TokenExample[]; test: TokenExample[]; fit: TaggerFit }): Promise<TaggerRun[]> {
  if (!Array.isArray(opts.configs) || opts.configs.length === 0) throw new Error("runTaggerConfigs configs must be a non-empty array of { name, model }.");
  const runs: TaggerRun[] = [];
  for (const c of opts.configs) runs.push(await trainTagger({ name: c.name, model: c.model, train: opts.train, test: opts.test, fit: opts.fit }));
  return runs;
}

export interface RatioSweepOptions {
  /** MLP ratios: hidden width = width × ratio (default [1, 2, 4, 8]). */
  ratios?: number[];
  /** One run per seed and ratio (default [3, 4, 5]). */
  seeds?: number[];
  /** Model width (default 8). */
  width?: number;
  /** Features per token, as in xorTokens (default 3). */
  bits?: number;
  train: TokenExample[];
  test: TokenExample[];
  fit: TaggerFit;
}

export type RatioSweepRow = {
  mlpRatio: number;
  "hidden units": number;
  "token accuracy (mean)": number;
  "worst seed": number;
  "final loss (mean)": number;
  parameters: number;
};

/**
 * How wide must the MLP be? One block of `width`, MLP hidden width = width × mlpRatio (Vaswani et al. 2017 §3.3
 * uses ×4), trained once per seed; one row per ratio with the mean and worst seed.
 */
export async function mlpRatioSweep(opts: RatioSweepOptions): Promise<{ rows: RatioSweepRow[]; runs: TaggerRun[][] }> {
  const { ratios = [1, 2, 4, 8], seeds = [3, 4, 5], width = 8, bits = 3, train, test, fit } = opts;
  if (!ratios.length || ratios.some((r) => !(Number.isInteger(r) && r >= 1))) throw new Error(`mlpRatioSweep ratios [${ratios}] must be positive integers, e.g. [1, 2, 4, 8].`);
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s))) throw new Error(`mlpRatioSweep seeds [${seeds}] must be a non-empty list of integers.`);
  checkExamples("mlpRatioSweep", "train", train);
  checkExamples("mlpRatioSweep", "test", test);
  checkFit("mlpRatioSweep", fit);
  const runs: TaggerRun[][] = [];
  for (const mlpRatio of ratios) {
    const perSeed: TaggerRun[] = [];
    for (const seed of seeds) {
      const model = { width, layers: 1, mlpRatio, seed, inputDim: xorFeatureDim({ bits }) };
      perSeed.push(await trainTagger({ name: `MLP ×${mlpRatio}, seed ${seed}`, model, train, test, fit }));
    }
    runs.push(perSeed);
  }
  const rows = ratios.map((mlpRatio, i) => ({
    mlpRatio,
    "hidden units": width * mlpRatio,
    "token accuracy (mean)": mean(runs[i].map((r) => r.accuracy)),
    "worst seed": Math.min(...runs[i].map((r) => r.accuracy)),
    "final loss (mean)": mean(runs[i].map((r) => r.loss)),
    parameters: runs[i][0].params,
  }));
  return { rows, runs };
}

export interface DepthConfig {
  name: string;
  residual: boolean;
  norm: NormPlacement;
}

export interface DepthStudyOptions {
  configs: DepthConfig[];
  /** Full blocks (attention + MLP) per model. */
  depth: number;
  /** MLP ratio of every block (default 2). */
  mlpRatio?: number;
  /** Training examples whose gradient is measured at initialisation (default 64, the first of train). */
  probeSize?: number;
  train: TokenExample[];
  test: TokenExample[];
  fit: TaggerFit;
}

export interface DepthStudy {
  runs: TaggerRun[];
  /** Per config: ‖gradient‖ of each block's parameters at initialisation, block 0 nearest the input. */
  initialGradients: { name: string; norms: number[] }[];
}

/**
 * Residuals and layer norm in a deep stack (He et al. 2016; Ba et al. 2016; post-LN as Vaswani et al. 2017,
 * pre-LN as Xiong et al. 2020): for each config, the gradient reaching each block before training (the same
 * batch for every model), then a training run.
 */
export async function depthStudy(opts: DepthStudyOptions): Promise<DepthStudy> {
  const { configs, depth, mlpRatio = 2, probeSize = 64, train, test, fit } = opts;
  if (!Array.isArray(configs) || configs.length === 0) throw new Error("depthStudy configs must be a non-empty array of { name, residual, norm }.");
  if (!(Number.isInteger(depth) && depth >= 1)) throw new Error(`depthStudy depth (${depth}) must be a positive integer.`);
  if (!(Number.isInteger(probeSize) && probeSize >= 1)) throw new Error(`depthStudy probeSize (${probeSize}) must be a positive integer.`);
  checkExamples("depthStudy", "train", train);
  checkExamples("depthStudy", "test", test);
  checkFit("depthStudy", fit);
  const probeBatch = train.slice(0, probeSize);
  const initialGradients: DepthStudy["initialGradients"] = [];
  const runs: TaggerRun[] = [];
  for (const c of configs) {
    const model = { layers: depth, mlpRatio, residual: c.residual, norm: c.norm };
    const probe = new TokenTagger({ inputDim: xorFeatureDim(), ...TAGGER_DEFAULTS, ...model });
    initialGradients.push({ name: c.name, norms: probe.gradientNorms(probeBatch).filter((g) => g.part.startsWith("layer")).map((g) => g.norm) });
    probe.dispose();
    runs.push(await trainTagger({ name: c.name, model, train, test, fit }));
  }
  return { runs, initialGradients };
}
