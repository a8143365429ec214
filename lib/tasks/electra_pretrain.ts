// A short ELECTRA pre-training run that records its curves, for notebooks and homework that READ a run rather
// than build one: the model (lib/models/electra.ts) trained by the one Trainer, and after every step the parts
// of its loss that the model leaves in `lastMetrics` (Clark et al. 2020: L_MLM + λ·L_disc).
//
//   const run = await pretrainElectra({ model, examples, steps: 60, batchSize: 16, learningRate: 2e-3 });
//   lineChart({ series: [{ name: "discriminator loss", x: run.steps, y: run.curves.discLoss }] });
import { ElectraModel, TokenIds } from "../models/electra";
import { Trainer } from "../train/trainer";

/** One value per training step (NaN where a part does not apply, e.g. no replaced token in a batch). */
export interface ElectraCurves {
  /** The total loss the optimizer minimised: L_MLM + λ·L_disc. */
  total: number[];
  /** The generator's MLM loss at the masked positions, in nats. */
  mlmLoss: number[];
  /** The discriminator's loss per token, before ×λ, in nats. */
  discLoss: number[];
  /** Discriminator accuracy (threshold 0.5) on replaced tokens and on original tokens. */
  accReplaced: number[];
  accOriginal: number[];
  /** Share of the tokens the discriminator is scored on that the generator's samples replaced. */
  replacedFraction: number[];
}

export interface PretrainElectraOptions {
  model: ElectraModel;
  examples: TokenIds[];
  steps: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** Show the Trainer's progress line (default true). */
  progress?: boolean;
}

export interface ElectraRun {
  /** 1, 2, ..., steps: the x axis of every curve. */
  steps: number[];
  curves: ElectraCurves;
  seconds: number;
}

/** Pre-train `model` for `steps` steps (linear warm-up over the first 10%, gradient norm clipped at 1). */
export async function pretrainElectra(opts: PretrainElectraOptions): Promise<ElectraRun> {
  const { model, examples, steps } = opts;
  if (!(model instanceof ElectraModel)) throw new Error("pretrainElectra: model must be an ElectraModel.");
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`pretrainElectra: steps (${steps}) must be a positive integer.`);
  if (!Array.isArray(examples) || examples.length === 0) throw new Error("pretrainElectra: examples must be a non-empty array of { ids }.");
  if (!model.trackMetrics) throw new Error("pretrainElectra: the model was built with trackMetrics: false, so it records no loss parts; build it with trackMetrics: true.");
  const curves: ElectraCurves = { total: [], mlmLoss: [], discLoss: [], accReplaced: [], accOriginal: [], replacedFraction: [] };
  const t0 = Date.now();
  const trainer = new Trainer(model, {
    batchSize: opts.batchSize ?? 32, maxSteps: steps, epochs: 1_000_000, learningRate: opts.learningRate ?? 1e-3,
    seed: opts.seed ?? 0, schedule: { kind: "linear", warmupSteps: Math.max(1, Math.round(steps / 10)) }, clipNorm: 1,
    plot: false, progress: opts.progress ?? true,
    onStep: () => {
      const m = model.lastMetrics!;
      curves.total.push(m.total);
      curves.mlmLoss.push(m.mlmLoss);
      curves.discLoss.push(m.discLoss);
      curves.accReplaced.push(m.discAccReplaced);
      curves.accOriginal.push(m.discAccOriginal);
      curves.replacedFraction.push(m.replacedFraction);
    },
  });
  try {
    await trainer.fit(examples);
  } finally {
    trainer.dispose();
  }
  return { steps: curves.total.map((_, i) => i + 1), curves, seconds: (Date.now() - t0) / 1000 };
}
