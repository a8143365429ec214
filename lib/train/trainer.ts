// The Trainer: ONE training loop for every model in the course (cs224u's TorchModelBase, in TypeScript).
//
// A model supplies `collate` and `loss` (see model.ts); the Trainer owns the rest: batching and shuffling,
// the optimizer, gradient clipping, the learning-rate schedule, epochs or a step budget, early stopping on a
// validation score with patience and restore-best, callbacks, progress, a live loss plot, and history as data.
// Classifiers also get predict / predictProba / score.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { makeBatches } from "../data/batching";
import { ClassifierModel, Trainable, TensorBatch, disposeBatch, isClassifier } from "./model";
import { learningRateAt, Schedule } from "./schedule";
import { saveCheckpoint, loadCheckpoint, SaveOptions } from "./checkpoint";
import { accuracy, macroF1 } from "../eval/metrics";
import { TrainingDisplay, makeTrainingDisplay } from "./display";
import { interruptRequested } from "../interrupt";
import { fusedKernelsEnabled, onNativeBackend } from "../engine/fused";
import { FusedAdam } from "./fused_adam";

export type OptimizerName = "adam" | "sgd" | "rmsprop";
export type MetricName = "accuracy" | "macroF1" | "loss";

export interface StepInfo {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export interface EvalInfo {
  step: number;
  epoch: number;
  /** Mean training loss since the last evaluation. */
  trainLoss: number;
  valLoss?: number;
  /** Higher is better (for metric "loss" this is minus the validation loss). */
  valScore?: number;
}

export interface History {
  steps: StepInfo[];
  evals: EvalInfo[];
  bestStep?: number;
  bestScore?: number;
  stoppedEarly: boolean;
  /** The stop button (or requestInterrupt()) ended training early; the model keeps what it learned so far. */
  interrupted: boolean;
  seconds: number;
}

export interface EarlyStopping<E> {
  /** Evaluations without improvement before stopping (default 3). */
  patience?: number;
  /** What to maximise on validation data (default macroF1 for classifiers, loss otherwise), or a function. */
  metric?: MetricName | ((examples: E[]) => number);
  /** Put back the best weights at the end (default true). */
  restoreBest?: boolean;
  /** Improvement smaller than this does not count (default 0). */
  minDelta?: number;
}

export interface TrainerOptions<E> {
  optimizer?: OptimizerName;
  learningRate?: number;
  batchSize?: number;
  /** Passes over the training data (default 10); training also stops at maxSteps if given. */
  epochs?: number;
  maxSteps?: number;
  /** Clip the global gradient norm to this value (default: no clipping). */
  clipNorm?: number;
  schedule?: Schedule;
  seed?: number;
  earlyStopping?: EarlyStopping<E>;
  /** Evaluate on validation data every N steps instead of once per epoch. */
  evalEvery?: number;
  /** Group examples of similar length into batches (less padding). */
  bucketBy?: (example: E) => number;
  /** Show a progress line (default true) and a live loss plot (default true in a notebook). */
  progress?: boolean;
  plot?: boolean;
  onStep?: (info: StepInfo) => void;
  onEval?: (info: EvalInfo) => void;
}

export interface FitOptions<E> {
  /** Held-out examples for early stopping and validation curves. */
  validation?: E[];
}

function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case "adam":
      // On native TensorFlow, where every op pays an N-API crossing, the same update in a few ops over one flat
      // buffer (fused_adam.ts). On wasm its concat and split cost more than the ops they save (measured: 473 vs
      // 314 ms per transformer seq2seq step), so tfjs's own Adam there, as with NLU_FUSED=off.
      return fusedKernelsEnabled() && onNativeBackend() ? new FusedAdam({ learningRate: lr }) : tf.train.adam(lr);
    case "sgd":
      return tf.train.sgd(lr);
    case "rmsprop":
      return tf.train.rmsprop(lr);
    default:
      throw new Error(`optimizer "${name}" is unknown: use "adam", "sgd" or "rmsprop".`);
  }
}

/**
 * Set the rate the next applyGradients uses. Adam and RMSProp read their `learningRate` field on every step, but
 * SGD (and momentum) multiply by a scalar tensor made once from it, so for them assigning the field would change
 * nothing and a schedule would be silently ignored: they need setLearningRate, which rebuilds that tensor.
 */
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === lr) return;
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}

function checkOptions<E>(o: TrainerOptions<E>): void {
  const pos = (k: string, v: number | undefined, int = false) => {
    if (v !== undefined && !(v > 0 && Number.isFinite(v) && (!int || Number.isInteger(v)))) {
      throw new Error(`${k} (${v}) must be a positive ${int ? "integer" : "number"}.`);
    }
  };
  pos("learningRate", o.learningRate);
  pos("batchSize", o.batchSize, true);
  pos("epochs", o.epochs, true);
  pos("maxSteps", o.maxSteps, true);
  pos("clipNorm", o.clipNorm);
  pos("evalEvery", o.evalEvery, true);
  if (o.earlyStopping?.patience !== undefined) pos("earlyStopping.patience", o.earlyStopping.patience, true);
}

export class Trainer<E, B extends TensorBatch = TensorBatch> {
  readonly options: Required<Pick<TrainerOptions<E>, "optimizer" | "learningRate" | "batchSize" | "epochs" | "seed">> & TrainerOptions<E>;
  private optimizer?: tf.Optimizer;
  history: History = { steps: [], evals: [], stoppedEarly: false, interrupted: false, seconds: 0 };

  constructor(readonly model: Trainable<E, B>, options: TrainerOptions<E> = {}) {
    checkOptions(options);
    this.options = { optimizer: "adam", learningRate: 1e-3, batchSize: 32, epochs: 10, seed: 0, ...options };
  }

  /** Train; returns the history (also kept on `trainer.history`). Training continues the same optimizer on a re-fit. */
  async fit(train: E[], fit: FitOptions<E> = {}): Promise<History> {
    const o = this.options;
    if (train.length === 0) throw new Error("fit() got no training examples.");
    const validation = fit.validation;
    if (o.earlyStopping && !(validation && validation.length)) {
      throw new Error("earlyStopping needs validation examples: call fit(train, { validation }).");
    }
    const rng = new Rng(o.seed);
    const vars = this.model.trainableVariables();
    if (vars.length === 0) throw new Error(`${this.model.constructor.name} has no trainable variables (frozen, or not built yet).`);
    this.optimizer ??= makeOptimizer(o.optimizer, o.learningRate);
    const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
    const totalSteps = Math.min(o.maxSteps ?? Infinity, o.epochs * stepsPerEpoch);
    const history: History = { steps: [], evals: [], stoppedEarly: false, interrupted: false, seconds: 0 };
    this.history = history;
    const es = o.earlyStopping;
    const patience = es?.patience ?? 3;
    let best = -Infinity;
    let bestWeights: tf.Tensor[] | null = null;
    let sinceBest = 0;
    const metric = this.scoreMetric();
    const scoreName = metric === "loss" ? undefined : typeof metric === "string" ? metric : "score";
    const display: TrainingDisplay = makeTrainingDisplay({ total: totalSteps, progress: o.progress ?? true, plot: o.plot, scoreName });
    const t0 = Date.now();
    let step = 0;
    let lossSum = 0;
    let lossCount = 0;

    const evaluate = (epoch: number): boolean => {
      const info: EvalInfo = { step, epoch, trainLoss: lossSum / Math.max(1, lossCount) };
      lossSum = 0;
      lossCount = 0;
      if (validation && validation.length) {
        info.valLoss = this.meanLoss(validation);
        info.valScore = this.validationScore(validation, info.valLoss);
      }
      history.evals.push(info);
      o.onEval?.(info);
      display.eval(info);
      if (es && info.valScore !== undefined) {
        if (info.valScore > best + (es.minDelta ?? 0)) {
          best = info.valScore;
          history.bestStep = step;
          history.bestScore = best;
          sinceBest = 0;
          if (es.restoreBest ?? true) {
            bestWeights?.forEach((t) => t.dispose());
            bestWeights = vars.map((v) => tf.keep(v.clone()));
          }
        } else if (++sinceBest >= patience) {
          return true;
        }
      }
      return false;
    };

    try {
      let stop = false;
      for (let epoch = 1; epoch <= o.epochs && !stop && step < totalSteps; epoch++) {
        for (const examples of makeBatches(train, { batchSize: o.batchSize, rng, bucketBy: o.bucketBy })) {
          // The stop button (lib/interrupt.ts): stop before the next step, keeping the weights trained so far.
          if (interruptRequested()) {
            history.interrupted = stop = true;
            break;
          }
          const lr = learningRateAt(o.learningRate, o.schedule ?? { kind: "constant" }, step, totalSteps);
          const { loss, gradNorm } = this.step(examples, lr, step, epoch);
          step++;
          lossSum += loss;
          lossCount++;
          const info: StepInfo = { step, epoch, loss, lr, gradNorm };
          history.steps.push(info);
          o.onStep?.(info);
          display.step(info);
          if (o.evalEvery && step % o.evalEvery === 0 && (stop = evaluate(epoch))) break;
          if (step >= totalSteps) break;
          await new Promise((r) => setImmediate(r)); // let the kernel flush progress output
        }
        if (!stop && !o.evalEvery) stop = evaluate(epoch);
        history.stoppedEarly = stop && !history.interrupted;
      }
      if (o.evalEvery && lossCount > 0 && !history.interrupted) evaluate(history.steps[history.steps.length - 1].epoch);
      if (bestWeights) {
        const saved: tf.Tensor[] = bestWeights;
        vars.forEach((v, i) => v.assign(saved[i]));
      }
    } finally {
      (bestWeights as tf.Tensor[] | null)?.forEach((t) => t.dispose());
      history.seconds = (Date.now() - t0) / 1000;
      display.done(history);
      if (history.interrupted) {
        const kept = history.bestStep !== undefined && (es?.restoreBest ?? true) ? `the best weights (step ${history.bestStep})` : "the weights trained so far";
        console.log(`training interrupted at step ${step} of ${totalSteps}; the model keeps ${kept}`);
      }
    }
    return history;
  }

  /** One optimisation step on one batch, outside fit() (custom loops, timing). Uses the base learning rate. */
  trainBatch(examples: E[]): { loss: number; gradNorm: number } {
    this.optimizer ??= makeOptimizer(this.options.optimizer, this.options.learningRate);
    return this.step(examples, this.options.learningRate, 0, 0);
  }

  /** One optimisation step on a batch of examples. The loss is checked BEFORE the update, so a NaN never reaches the weights. */
  private step(examples: E[], lr: number, step: number, epoch: number): { loss: number; gradNorm: number } {
    const opt = this.optimizer!;
    setLearningRate(opt, lr);
    const batch = this.model.collate(examples);
    try {
      return tf.tidy(() => {
        const vars = this.model.trainableVariables();
        const { value, grads } = tf.variableGrads(() => this.model.loss(batch, true), vars);
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) {
          throw new Error(
            `loss is ${loss} at step ${step + 1} (epoch ${epoch}); the weights were not updated. ` +
              `Lower the learning rate (now ${lr}) or set clipNorm, and check the inputs of this batch.`,
          );
        }
        const clip = this.options.clipNorm;
        if (opt instanceof FusedAdam) {
          // One vector: the global norm is three ops, and clipping is a factor on the flat gradient.
          const flat = opt.flatten(grads);
          const norm = tf.sqrt(tf.sum(tf.square(flat.vector))).dataSync()[0];
          opt.applyFlat(flat, clip && norm > clip ? clip / norm : 1);
          return { loss, gradNorm: norm };
        }
        const names = Object.keys(grads).filter((n) => grads[n] != null);
        const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))).dataSync()[0];
        if (clip && norm > clip) for (const n of names) grads[n] = tf.mul(grads[n], clip / norm);
        opt.applyGradients(grads);
        return { loss, gradNorm: norm };
      });
    } finally {
      disposeBatch(batch);
    }
  }

  /** Mean loss over examples, without dropout and without updating anything. */
  meanLoss(examples: E[], batchSize = this.options.batchSize): number {
    let total = 0;
    for (const group of makeBatches(examples, { batchSize, shuffle: false })) {
      const batch = this.model.collate(group);
      try {
        total += tf.tidy(() => this.model.loss(batch, false).dataSync()[0]) * group.length;
      } finally {
        disposeBatch(batch);
      }
    }
    return total / examples.length;
  }

  /** What validation maximises: earlyStopping.metric, else macroF1 for classifiers and (minus) the loss otherwise. */
  private scoreMetric(): MetricName | ((examples: E[]) => number) {
    return this.options.earlyStopping?.metric ?? (isClassifier(this.model) ? "macroF1" : "loss");
  }

  private validationScore(examples: E[], valLoss: number): number {
    const metric = this.scoreMetric();
    if (typeof metric === "function") return metric(examples);
    if (metric === "loss") return -valLoss;
    return this.score(examples, metric);
  }

  private classifier(): ClassifierModel<E, B> {
    if (!isClassifier(this.model)) throw new Error(`${this.model.constructor.name} is not a classifier (it has no logits()).`);
    return this.model;
  }

  /** Class probabilities, one row per example. */
  predictProba(examples: E[], batchSize = this.options.batchSize): number[][] {
    const model = this.classifier();
    const rows: number[][] = [];
    for (const group of makeBatches(examples, { batchSize, shuffle: false })) {
      const batch = model.collate(group);
      try {
        rows.push(...tf.tidy(() => tf.softmax(model.logits(batch, false)).arraySync() as number[][]));
      } finally {
        disposeBatch(batch);
      }
    }
    return rows;
  }

  predict(examples: E[], batchSize?: number): number[] {
    return this.predictProba(examples, batchSize).map((p) => p.indexOf(Math.max(...p)));
  }

  /** accuracy or macroF1 (default) against the model's gold labels. */
  score(examples: E[], metric: Exclude<MetricName, "loss"> = "macroF1"): number {
    const model = this.classifier();
    const gold = examples.map((e) => model.labelOf(e));
    const pred = this.predict(examples);
    return metric === "accuracy" ? accuracy(gold, pred) : macroF1(gold, pred, model.numClasses);
  }

  /** Free the optimizer's state (Adam's moment estimates). The model is the caller's to dispose. */
  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = undefined;
  }

  save(dir: string, opts: Omit<SaveOptions, "config"> = {}): void {
    saveCheckpoint(dir, this.model, { ...opts, config: this.model.config?.() });
  }

  load(dir: string): void {
    loadCheckpoint(dir, this.model, { config: this.model.config?.() });
  }
}
