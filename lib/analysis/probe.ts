// Probes: small classifiers trained on FROZEN features to ask "is property y linearly (or simply) decodable
// from layer l?" (Alain & Bengio 2017; Conneau et al. 2018). The probe is an ordinary course model, trained by
// the ONE Trainer; the encoder that made the features is never touched.
//
// A high probe accuracy alone says little: a flexible enough probe can memorise any labelling of the word
// types it sees. Hewitt & Liang (2019, "Designing and Interpreting Probes with Control Tasks") therefore pair
// each task with a CONTROL task: every type (word, or another input unit) gets a random label drawn from the
// task's own label distribution, fixed for all its occurrences. The control is learnable only by memorising
// types, never from linguistic structure, so
//     selectivity = accuracy(task) − accuracy(control)
// is what the representation contributes beyond the probe's capacity. Report both.
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Linear } from "../nn/layers";
import { ClassifierModel } from "../train/model";
import { Trainer } from "../train/trainer";
import { classificationLoss } from "../train/losses";
import { Rng } from "../random";
import { Features, columnStats, featureRow, standardize, selectRows } from "./features";

export type ProbeKind = "linear" | "mlp";
export const PROBE_KINDS: readonly ProbeKind[] = ["linear", "mlp"];

/** One frozen feature vector and its label. */
export interface ProbeExample {
  x: Float32Array;
  label: number;
}
type ProbeBatch = { x: tf.Tensor2D; labels: tf.Tensor1D };

export interface ProbeModelOptions {
  inDim: number;
  numClasses: number;
  /** "linear" (softmax regression, the default) or "mlp" (one ReLU hidden layer). */
  kind?: ProbeKind;
  /** MLP hidden width (default 64). */
  hidden?: number;
  seed?: number;
}

/** x [batch, inDim] -> logits [batch, numClasses]: a linear map, or Linear → ReLU → Linear. */
export class ProbeModel extends Module implements ClassifierModel<ProbeExample, ProbeBatch> {
  readonly numClasses: number;
  readonly kind: ProbeKind;
  private readonly linears: Linear[] = [];
  private readonly cfg: Record<string, unknown>;

  constructor(opts: ProbeModelOptions) {
    super();
    const kind = opts.kind ?? "linear";
    if (!PROBE_KINDS.includes(kind)) throw new Error(`probe kind "${kind}" is unknown: use "linear" or "mlp".`);
    if (!(Number.isInteger(opts.inDim) && opts.inDim > 0)) throw new Error(`probe inDim (${opts.inDim}) must be a positive integer.`);
    if (!(Number.isInteger(opts.numClasses) && opts.numClasses >= 2)) throw new Error(`probe numClasses (${opts.numClasses}) must be an integer >= 2.`);
    const hidden = opts.hidden ?? 64;
    const rng = new Rng(opts.seed ?? 0);
    this.kind = kind;
    this.numClasses = opts.numClasses;
    if (kind === "linear") {
      const out = this.addChild("out", new Linear({ inDim: opts.inDim, outDim: opts.numClasses, seed: rng.seed() }));
      // Softmax regression is convex: start at zero (uniform predictions), so a short training cannot end
      // up wherever a random init happened to point.
      tf.tidy(() => out.weight.assign(tf.zerosLike(out.weight)));
      this.linears.push(out);
    } else {
      this.linears.push(this.addChild("hidden", new Linear({ inDim: opts.inDim, outDim: hidden, seed: rng.seed() })));
      this.linears.push(this.addChild("out", new Linear({ inDim: hidden, outDim: opts.numClasses, seed: rng.seed() })));
    }
    this.cfg = { inDim: opts.inDim, numClasses: opts.numClasses, kind, hidden, seed: opts.seed ?? 0 };
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  collate(examples: ProbeExample[]): ProbeBatch {
    const d = this.cfg.inDim as number;
    const x = new Float32Array(examples.length * d);
    examples.forEach((e, i) => {
      if (e.x.length !== d) throw new Error(`probe example ${i} has ${e.x.length} features; the probe expects ${d}.`);
      x.set(e.x, i * d);
    });
    return { x: tf.tensor2d(x, [examples.length, d]), labels: tf.tensor1d(examples.map((e) => e.label), "int32") };
  }

  logits(batch: ProbeBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const [first, second] = this.linears;
      return (second ? second.apply(tf.relu(first.apply(batch.x))) : first.apply(batch.x)) as tf.Tensor2D;
    });
  }

  loss(batch: ProbeBatch): tf.Scalar {
    return tf.tidy(() => classificationLoss(this.logits(batch), batch.labels));
  }

  labelOf(e: ProbeExample): number {
    return e.label;
  }
}

/** Features with one label per row. */
export interface LabelledFeatures {
  features: Features;
  labels: readonly number[];
}

export interface ProbeOptions {
  train: LabelledFeatures;
  test: LabelledFeatures;
  kind?: ProbeKind;
  hidden?: number;
  /** Default: 1 + the largest label seen. */
  numClasses?: number;
  /**
   * Passes over the training rows (default 10, raised until training takes at least 100 steps, so small data
   * sets are not under-trained). The epoch with the lowest loss on a held-out tenth of the rows is kept — the
   * loss, not the accuracy: a small held-out set ties on accuracy and would keep an under-trained epoch.
   */
  epochs?: number;
  batchSize?: number;
  /** Adam's learning rate (default 1e-2: the features are standardised, the probe is small). */
  learningRate?: number;
  seed?: number;
}

export interface ProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
  /** Test accuracy of always predicting the most frequent training label: the floor. */
  majority: number;
  numClasses: number;
}

function checkLabelled(what: string, d: LabelledFeatures): void {
  if (!d?.features || !Array.isArray(d.labels)) throw new Error(`${what} must be { features, labels }.`);
  if (d.features.rows === 0) throw new Error(`${what} is empty: the probe needs at least one example.`);
  if (d.labels.length !== d.features.rows) throw new Error(`${what} has ${d.features.rows} feature rows but ${d.labels.length} labels: give one label per row.`);
  const bad = d.labels.findIndex((y) => !(Number.isInteger(y) && y >= 0));
  if (bad >= 0) throw new Error(`${what} label ${bad} is ${d.labels[bad]}: labels must be integers >= 0.`);
}

/** Most frequent label of `train` and how often it is right on `test`. */
export function majorityAccuracy(train: readonly number[], test: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const y of train) counts.set(y, (counts.get(y) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
  return test.filter((y) => y === top).length / test.length;
}

/**
 * Train a probe on frozen features with the course's Trainer and score it. Features are standardised with the
 * training rows' statistics (so one learning rate suits every layer); a tenth of the training rows picks the
 * best epoch (early stopping on its loss). Errors: empty or mismatched inputs, different widths, bad kind.
 */
export async function trainProbe(opts: ProbeOptions): Promise<ProbeResult> {
  checkLabelled("train", opts.train);
  checkLabelled("test", opts.test);
  const d = opts.train.features.cols;
  if (opts.test.features.cols !== d) throw new Error(`train features have width ${d} but test features ${opts.test.features.cols}: use the same layer for both.`);
  const numClasses = opts.numClasses ?? Math.max(1, ...opts.train.labels, ...opts.test.labels) + 1;
  const stats = columnStats(opts.train.features);
  const examples = (data: LabelledFeatures): ProbeExample[] => {
    const f = standardize(data.features, stats);
    return data.labels.map((label, i) => ({ x: featureRow(f, i), label }));
  };
  const all = examples(opts.train);
  const test = examples(opts.test);
  const rng = new Rng(opts.seed ?? 0);
  const order = rng.shuffle(all.map((_, i) => i));
  const nVal = all.length >= 20 ? Math.max(2, Math.round(all.length / 10)) : 0;
  const validation = order.slice(0, nVal).map((i) => all[i]);
  const train = order.slice(nVal).map((i) => all[i]);
  const model = new ProbeModel({ inDim: d, numClasses, kind: opts.kind, hidden: opts.hidden, seed: rng.seed() });
  const batchSize = opts.batchSize ?? 128;
  const epochs = Math.max(opts.epochs ?? 10, Math.ceil(100 / Math.ceil(train.length / batchSize)));
  const trainer = new Trainer<ProbeExample>(model, {
    epochs, batchSize, learningRate: opts.learningRate ?? 1e-2, seed: rng.seed(),
    progress: false, plot: false,
    earlyStopping: nVal ? { metric: "loss", patience: 3 } : undefined,
  });
  try {
    await trainer.fit(train, nVal ? { validation } : {});
    return {
      trainAccuracy: trainer.score(train, "accuracy"),
      testAccuracy: trainer.score(test, "accuracy"),
      majority: majorityAccuracy(opts.train.labels, opts.test.labels),
      numClasses,
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/**
 * Hewitt & Liang's control task: each distinct type gets ONE label drawn from the empirical distribution of
 * `labels`, and every item of that type carries it. types[i] is item i's type (its word, ...).
 * -> control label per item. Seeded.
 */
export function controlLabels(opts: { types: readonly (number | string)[]; labels: readonly number[]; seed?: number }): number[] {
  const { types, labels } = opts;
  if (types.length !== labels.length) throw new Error(`controlLabels got ${types.length} types and ${labels.length} labels: give one type per label.`);
  if (labels.length === 0) throw new Error("controlLabels got no items.");
  const rng = new Rng(opts.seed ?? 0);
  const assigned = new Map<number | string, number>();
  return types.map((t) => {
    if (!assigned.has(t)) assigned.set(t, labels[rng.int(labels.length)]); // a uniform pick = a draw from the distribution
    return assigned.get(t)!;
  });
}

export interface SelectivityOptions extends Omit<ProbeOptions, "train" | "test"> {
  train: LabelledFeatures & { types: readonly (number | string)[] };
  test: LabelledFeatures & { types: readonly (number | string)[] };
}

export interface SelectivityResult extends ProbeResult {
  /** The same probe on the control task (types labelled at random). */
  controlAccuracy: number;
  /** testAccuracy − controlAccuracy (Hewitt & Liang 2019). */
  selectivity: number;
}

/** Train the probe on the task and on its control task (same features, same settings); report selectivity. */
export async function probeWithControl(opts: SelectivityOptions): Promise<SelectivityResult> {
  const n = opts.train.labels.length;
  if (opts.train.types.length !== n || opts.test.types.length !== opts.test.labels.length) {
    throw new Error("probeWithControl needs one type per example in train and test (e.g. the word id of each token).");
  }
  const control = controlLabels({ types: [...opts.train.types, ...opts.test.types], labels: [...opts.train.labels, ...opts.test.labels], seed: opts.seed });
  const numClasses = opts.numClasses ?? Math.max(1, ...opts.train.labels, ...opts.test.labels, ...control) + 1;
  const task = await trainProbe({ ...opts, numClasses });
  const ctrl = await trainProbe({
    ...opts, numClasses,
    train: { features: opts.train.features, labels: control.slice(0, n) },
    test: { features: opts.test.features, labels: control.slice(n) },
  });
  return { ...task, controlAccuracy: ctrl.testAccuracy, selectivity: task.testAccuracy - ctrl.testAccuracy };
}

/** Split rows into train/test by group (e.g. by sentence, so no sentence is on both sides). Seeded. */
export function splitByGroup(groups: readonly number[], opts: { testFraction?: number; seed?: number } = {}): { train: number[]; test: number[] } {
  const frac = opts.testFraction ?? 0.3;
  if (!(frac > 0 && frac < 1)) throw new Error(`testFraction (${frac}) must be in (0, 1), e.g. 0.3.`);
  const ids = [...new Set(groups)];
  if (ids.length < 2) throw new Error(`splitByGroup needs at least 2 groups (sentences), got ${ids.length}.`);
  const shuffled = new Rng(opts.seed ?? 0).shuffle(ids);
  const nTest = Math.min(ids.length - 1, Math.max(1, Math.round(ids.length * frac)));
  const testIds = new Set(shuffled.slice(0, nTest));
  const train: number[] = [];
  const test: number[] = [];
  groups.forEach((g, i) => (testIds.has(g) ? test : train).push(i));
  return { train, test };
}

/** Rows of features and labels at `index`. */
export function subset(d: LabelledFeatures, index: readonly number[]): LabelledFeatures {
  return { features: selectRows(d.features, index), labels: index.map((i) => d.labels[i]) };
}
