// Pre-training an ElectraModel (any objective: ELECTRA, its ablations, BERT) with the ONE Trainer, recording
// after every step the parts of its loss (Clark et al. 2020: L_MLM + λ·L_disc) and, when held-out windows are
// given, the held-out read-outs of lib/models/electra_eval.ts along the way. Notebook 04's cached experiments
// (lib/tasks/electra_experiments.ts) and the homework's short run both go through here.
//
//   const run = await pretrainElectra({ model, examples, steps: 60, batchSize: 16, learningRate: 2e-3 });
//   lineChart({ series: [{ name: "discriminator loss", x: run.steps, y: run.curves.discLoss }] });
//   const held = await pretrainElectra({ model, examples, steps: 1000, heldOut, evalEvery: 100 });
//   held.evals    // [{ step: 0, generatorMlm, discLoss, baseRate, auc, ... }, { step: 100, ... }, ...]
import { ElectraModel, TokenIds } from "../models/electra";
import { PretrainingEval, evaluatePretraining } from "../models/electra_eval";
import { Trainer } from "../train/trainer";

/** One value per training step (NaN where a part does not apply, e.g. no replaced token in a batch, or "bert"). */
export interface ElectraCurves {
  /** The total loss the optimizer minimised: L_MLM + λ·L_disc (or the objective's total). */
  total: number[];
  /** The generator's MLM loss at the masked positions, in nats (NaN for "bert"). */
  mlmLoss: number[];
  /** The main model's own loss: its discriminator loss (electra variants) or its MLM loss. */
  mainLoss: number[];
  /** The discriminator's loss per token, before ×λ, in nats. */
  discLoss: number[];
  /** Discriminator accuracy (threshold 0.5) on replaced tokens and on original tokens. */
  accReplaced: number[];
  accOriginal: number[];
  /** Share of the tokens the discriminator is scored on that the generator's samples replaced. */
  replacedFraction: number[];
}

/** A held-out evaluation and the step it was taken at (0 = before training). */
export type StepEval = PretrainingEval & { step: number };

export interface PretrainElectraOptions {
  model: ElectraModel;
  /** Pre-training examples (ids without [CLS]; the model adds it). */
  examples: TokenIds[];
  steps: number;
  /** Default 32. */
  batchSize?: number;
  /** Peak learning rate of Adam (default 1e-3). */
  learningRate?: number;
  /** Linear warm-up over this share of the steps, then linear decay to 0 (default 0.1). */
  warmupFraction?: number;
  seed?: number;
  /** Held-out windows, evaluated (evaluatePretraining) before training, every `evalEvery` steps and at the end. */
  heldOut?: TokenIds[];
  /** Default: steps / 8. */
  evalEvery?: number;
  /** Called after each of these steps with the model as trained so far (e.g. to save a snapshot). */
  snapshots?: { steps: number[]; save: (step: number, model: ElectraModel) => void };
  /** Show the Trainer's progress line (default true). */
  progress?: boolean;
}

export interface ElectraRun {
  /** 1, 2, ..., steps: the x axis of every curve. */
  steps: number[];
  curves: ElectraCurves;
  /** Held-out evaluations, step 0 first (empty without heldOut). */
  evals: StepEval[];
  /** Wall-clock seconds of the run (held-out evaluations included). */
  seconds: number;
}

function check(o: PretrainElectraOptions): void {
  const { model, examples, steps } = o;
  if (!(model instanceof ElectraModel)) throw new Error("pretrainElectra: model must be an ElectraModel.");
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`pretrainElectra: steps (${steps}) must be a positive integer.`);
  if (!Array.isArray(examples) || examples.length === 0) throw new Error("pretrainElectra: examples must be a non-empty array of { ids }.");
  if (!model.trackMetrics) throw new Error("pretrainElectra: the model was built with trackMetrics: false, so it records no loss parts; build it with trackMetrics: true.");
  const w = o.warmupFraction ?? 0.1;
  if (!(w >= 0 && w < 1)) throw new Error(`pretrainElectra: warmupFraction (${w}) must be in [0, 1), e.g. 0.1.`);
  if (o.evalEvery !== undefined && !(Number.isInteger(o.evalEvery) && o.evalEvery > 0)) throw new Error(`pretrainElectra: evalEvery (${o.evalEvery}) must be a positive integer.`);
  if (o.heldOut !== undefined && o.heldOut.length === 0) throw new Error("pretrainElectra: heldOut is empty; pass held-out windows or leave it out.");
  const bad = o.snapshots?.steps.find((s) => !(Number.isInteger(s) && s > 0 && s <= steps));
  if (bad !== undefined) throw new Error(`pretrainElectra: snapshot step ${bad} must be an integer from 1 to steps (${steps}).`);
}

/** Pre-train `model` for `steps` steps (linear warm-up and decay, gradient norm clipped at 1). */
export async function pretrainElectra(o: PretrainElectraOptions): Promise<ElectraRun> {
  check(o);
  const { model, steps } = o;
  const evalEvery = o.evalEvery ?? Math.max(1, Math.round(steps / 8));
  const curves: ElectraCurves = { total: [], mlmLoss: [], mainLoss: [], discLoss: [], accReplaced: [], accOriginal: [], replacedFraction: [] };
  const evals: StepEval[] = [];
  const evaluate = (step: number) => o.heldOut && evals.push({ step, ...evaluatePretraining(model, o.heldOut) });
  const t0 = Date.now();
  evaluate(0);
  const trainer = new Trainer(model, {
    batchSize: o.batchSize ?? 32, maxSteps: steps, epochs: 1_000_000, learningRate: o.learningRate ?? 1e-3, seed: o.seed ?? 0,
    schedule: { kind: "linear", warmupSteps: Math.max(1, Math.round(steps * (o.warmupFraction ?? 0.1))) }, clipNorm: 1,
    plot: false, progress: o.progress ?? true,
    onStep: ({ step }) => {
      const m = model.lastMetrics!;
      curves.total.push(m.total);
      curves.mlmLoss.push(m.mlmLoss);
      curves.mainLoss.push(m.mainLoss);
      curves.discLoss.push(m.discLoss);
      curves.accReplaced.push(m.discAccReplaced);
      curves.accOriginal.push(m.discAccOriginal);
      curves.replacedFraction.push(m.replacedFraction);
      if (step % evalEvery === 0 || step === steps) evaluate(step);
      if (o.snapshots?.steps.includes(step)) o.snapshots.save(step, model);
    },
  });
  try {
    await trainer.fit(o.examples);
  } finally {
    trainer.dispose();
  }
  return { steps: curves.total.map((_, i) => i + 1), curves, evals, seconds: (Date.now() - t0) / 1000 };
}
