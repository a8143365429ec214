// Training a sentence classifier on SST-2 the way notebooks 01–03 do (notebook 03, section 6: the transformer
// beside the BiLSTM and the residual CNN): one Trainer, bucketed batches, gradient clipping, early stopping on
// validation macro-F1, predictions on dev (our test set). Its view: lib/viz/sst2.ts.
import { Sst2Data } from "./sst2";
import { SentenceClassifier, LabelledIds, ClassifierBatch } from "../models/classifier";
import { Trainer, History } from "../train/trainer";

export interface Sst2Run {
  name: string;
  model: SentenceClassifier;
  /** Kept for predictions; dispose it with the model (disposeSst2Run). */
  trainer: Trainer<LabelledIds, ClassifierBatch>;
  history: History;
  /** Predicted labels on data.dev, in order. */
  pred: number[];
}

export interface TrainSst2Options {
  /** How tables and plots call the run. */
  name: string;
  model: SentenceClassifier;
  data: Sst2Data;
  learningRate: number;
  /** Passes over the training data (early stopping may end sooner). */
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Global gradient-norm clip (default 5). */
  clipNorm?: number;
  /** Trainer seed: batch order and dropout (default 1). */
  seed?: number;
  /** Evaluations without a better validation macro-F1 before stopping (default 2). */
  patience?: number;
}

/** Train `model` on data.train (validated on data.val), predict data.dev; prints one line. */
export async function trainSst2Classifier(opts: TrainSst2Options): Promise<Sst2Run> {
  const { name, model, data, learningRate, epochs, batchSize = 64, clipNorm = 5, seed = 1, patience = 2 } = opts;
  if (typeof name !== "string" || name === "") throw new Error("trainSst2Classifier name must be a non-empty string: it labels the run in tables.");
  if (!(model instanceof SentenceClassifier)) throw new Error("trainSst2Classifier model must be a SentenceClassifier (RnnClassifier, CnnClassifier, TransformerClassifier).");
  if (!data?.train?.encoded?.length || !data.val?.encoded?.length || !data.dev?.encoded?.length) {
    throw new Error("trainSst2Classifier data must have non-empty train, val and dev splits: pass what prepareSst2 returned.");
  }
  if (!(learningRate > 0)) throw new Error(`trainSst2Classifier learningRate (${learningRate}) must be a positive number, e.g. 1e-3.`);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`trainSst2Classifier epochs (${epochs}) must be a positive integer.`);
  const trainer = new Trainer<LabelledIds, ClassifierBatch>(model, {
    epochs,
    batchSize,
    learningRate,
    clipNorm,
    seed,
    bucketBy: (x) => x.ids.length,
    earlyStopping: { patience, metric: "macroF1" },
  });
  const history = await trainer.fit(data.train.encoded, { validation: data.val.encoded });
  console.log(`${name}: ${model.paramCount().toLocaleString()} parameters, ${history.steps.length} steps in ${history.seconds.toFixed(0)} s`);
  return { name, model, trainer, history, pred: trainer.predict(data.dev.encoded) };
}

/** Mean training loss of the first and of the last `window` steps: did the loss fall? */
export function lossTrend(opts: { history: Pick<History, "steps">; window?: number }): { first: number; last: number } {
  const { history, window = 20 } = opts;
  if (!(Number.isInteger(window) && window >= 1)) throw new Error(`lossTrend window (${window}) must be a positive integer.`);
  const steps = history?.steps ?? [];
  if (steps.length === 0) throw new Error("lossTrend got a history with no steps: train the model first.");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(steps.slice(0, window).map((s) => s.loss)), last: mean(steps.slice(-window).map((s) => s.loss)) };
}

/** Dispose a run's model and trainer. */
export function disposeSst2Run(run: Sst2Run): void {
  run.model.dispose();
  run.trainer.dispose();
}
