// Experiment runners for notebook 07's later sections: lower layers that mimic the top of their own network
// (self-distillation with early exits), one teacher per task (BAM), and the counterfactual objective (DIITO)
// with its own measure, interchange-intervention agreement. Each trains through the one Trainer.
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import { SentenceClassifier, LabelledIds } from "../models/classifier";
import { SelfDistiller } from "../models/self_distiller";
import { MultiTaskDistiller, TaskExample, labelPerTask } from "../models/multi_task";
import { DistillExample } from "../models/teacher_outputs";
import { LayeredClassifier, asLayered, interchangePairs, intervenedLogits, pairTensors } from "../models/intervention";
import { LoadOptions, cleanReviewText, loadImdb } from "../data/corpora";
import { wordTokenize } from "../data/tokenize";
import { Vocab } from "../data/vocab";
import { makeBatches } from "../data/batching";
import { disposeBatch } from "../train/model";
import { Trainer, TrainerOptions } from "../train/trainer";
import { accuracy } from "../eval/metrics";
import { summariseSeeds, SeedSummary } from "../eval/seeds";
import { treebankContractions } from "./transfer_set";
import { Rng } from "../random";
import { Mode, mode as currentMode } from "../mode";
import { checkpointDir, pretrainCached, sourceFingerprint } from "../models/pretrain_cache";
import { teacherSpec } from "./teachers";

// ------------------------------------------------------------------------------------------ early exits

export interface ExitsOptions {
  /** Builds the network for a seed: a layered model (CnnClassifier) with >= 2 layers. */
  make: (seed: number) => SentenceClassifier;
  train: LabelledIds[];
  dev: LabelledIds[];
  /** α of each run: 0 = exits trained on gold only (no self-distillation). */
  alphas: number[];
  temperature?: number;
  fit: TrainerOptions<DistillExample>;
  seeds: number[];
}

/** One row per α: dev accuracy of every exit (layer 1 .. L), mean ± std over seeds. */
export interface ExitsResult {
  alpha: number;
  exits: SeedSummary[];
}

/** Train a SelfDistiller per α and seed; score every exit on dev (Zhang et al. 2019, Table 1's per-exit accuracy). */
export async function selfDistillExits(o: ExitsOptions): Promise<ExitsResult[]> {
  if (!o.seeds?.length || !o.alphas?.length) throw new Error("selfDistillExits needs non-empty { alphas, seeds }.");
  const gold = o.dev.map((e) => e.label);
  const out: ExitsResult[] = [];
  for (const alpha of o.alphas) {
    const perSeed: number[][] = [];
    for (const seed of o.seeds) {
      const model = asLayered(o.make(seed), "the network");
      const sd = new SelfDistiller({ model, alpha, temperature: o.temperature, seed });
      const trainer = new Trainer<LabelledIds>(sd, { progress: false, plot: false, ...o.fit, seed });
      try {
        await trainer.fit(o.train);
        const preds: number[][] = Array.from({ length: sd.numExits }, () => []);
        for (const group of makeBatches(o.dev, { batchSize: 256, shuffle: false })) {
          const batch = sd.collate(group);
          const rows = tf.tidy(() => sd.exitLogits(batch, false).map((z) => Array.from(tf.argMax(z, 1).dataSync())));
          disposeBatch(batch);
          rows.forEach((r, l) => preds[l].push(...r));
        }
        perSeed.push(preds.map((p) => accuracy(gold, p)));
      } finally {
        trainer.dispose();
        sd.dispose();
        model.dispose();
      }
    }
    out.push({ alpha, exits: perSeed[0].map((_, l) => summariseSeeds(perSeed.map((r) => r[l]))) });
  }
  return out;
}

// ----------------------------------------------------------------------------------- one teacher per task

export interface ImdbTaskOptions {
  /** SST-2's vocabulary: both tasks read the same ids. */
  vocab: Vocab;
  trainSize: number;
  devSize: number;
  /** Keep each review's LAST maxTokens tokens (reviews tend to end on their verdict). Default 60. */
  maxTokens?: number;
  seed?: number;
  load?: LoadOptions;
}

/**
 * IMDB sentiment (Maas et al. 2011) as a second task for an SST-2 model: reviews from IMDB's train split (a
 * seeded, balanced-in-expectation sample; dev from its test split), tokenised SST-2's way, encoded with SST-2's
 * vocabulary. Labels 0 = negative, 1 = positive, as in SST-2.
 */
export async function imdbTask(o: ImdbTaskOptions): Promise<{ train: LabelledIds[]; dev: LabelledIds[] }> {
  if (!o?.vocab) throw new Error("imdbTask needs { vocab } (SST-2's: prepareSst2(...).vocab).");
  const maxTokens = o.maxTokens ?? 60;
  const take = async (split: "train" | "test", n: number, seed: number) => {
    // Raw rows, cleaned only once sampled: cleaning all 25,000 reviews takes seconds.
    const rows = new Rng(seed).shuffle(await loadImdb(split, { ...o.load, raw: true }));
    if (!(Number.isInteger(n) && n > 0 && n <= rows.length)) throw new Error(`IMDB ${split} has ${rows.length} reviews: ask for 1..${rows.length} (got ${n}).`);
    return rows.slice(0, n).map((r) => ({ ids: o.vocab.encode(wordTokenize(treebankContractions(cleanReviewText(r.text))).slice(-maxTokens)), label: r.label }));
  };
  return { train: await take("train", o.trainSize, o.seed ?? 0), dev: await take("test", o.devSize, (o.seed ?? 0) + 1) };
}

export interface PerTaskData {
  name: string;
  train: LabelledIds[];
  dev: LabelledIds[];
  /** This task's own (single-task, frozen) teacher. */
  teacher: SentenceClassifier;
}

export interface BamOptions {
  tasks: PerTaskData[];
  /** The shared student encoder for a seed. */
  make: (seed: number) => SentenceClassifier;
  /** { soft: 0 } = the multi-task student on gold labels only; { soft: 1, gold: 1 } = BAM. */
  weights: { gold: number; soft: number; temperature?: number };
  fit: TrainerOptions<DistillExample>;
  seeds: number[];
}

/** A multi-task student per seed, each task distilled from its own teacher; dev accuracy per task (mean ± std). */
export async function multiTaskStudents(o: BamOptions): Promise<SeedSummary[]> {
  const train = labelPerTask({ teachers: o.tasks.map((t) => t.teacher), examples: o.tasks.flatMap((t, task) => t.train.map((e) => ({ ...e, task }))) });
  const perSeed: number[][] = [];
  for (const seed of o.seeds) {
    const student = o.make(seed);
    const mt = new MultiTaskDistiller({ student, tasks: o.tasks.map((t) => t.name), ...o.weights, seed });
    const trainer = new Trainer<TaskExample>(mt, { progress: false, plot: false, ...o.fit, seed });
    try {
      await trainer.fit(train);
      perSeed.push(o.tasks.map((t, task) => trainer.score(t.dev.map((e) => ({ ...e, task })), "accuracy")));
    } finally {
      trainer.dispose();
      mt.dispose();
      student.dispose();
    }
  }
  return o.tasks.map((_, task) => summariseSeeds(perSeed.map((r) => r[task])));
}

// ------------------------------------------------------------------------------- interchange agreement

export interface InterchangeAgreementOptions {
  student: SentenceClassifier;
  teacher: SentenceClassifier;
  examples: { ids: number[] }[];
  studentLayer: number;
  teacherLayer: number;
  fraction?: number;
  seed?: number;
}

/**
 * Interchange-intervention agreement: on random (base, source, positions) pairs of the examples, the share
 * where the student's intervened prediction equals the teacher's (Geiger et al. 2021's interchange
 * intervention accuracy, with the teacher as the causal model). 1 = the student answers every counterfactual
 * question as the teacher does. Both models run in inference mode, in batches of 64 (pairs within a batch).
 */
export function interchangeAgreement(o: InterchangeAgreementOptions): number {
  const models = [asLayered(o.student, "the student"), asLayered(o.teacher, "the teacher")] as const;
  const layers = [o.studentLayer, o.teacherLayer];
  const rng = new Rng(o.seed ?? 0);
  let same = 0;
  let total = 0;
  for (const group of makeBatches(o.examples.map((e) => ({ ids: e.ids, label: 0 })), { batchSize: 64, shuffle: false })) {
    if (group.length < 2) continue;
    const batches = models.map((m) => m.collate(group));
    const pairs = interchangePairs({ lengths: Array.from(tf.tidy(() => tf.sum(batches[0].mask, 1).dataSync())), fraction: o.fraction, rng });
    const preds = models.map((m: LayeredClassifier, i) => {
      const p = pairTensors(pairs, batches[i].ids.shape[1]);
      const pred = tf.tidy(() => Array.from(tf.argMax(intervenedLogits(m, { ...batches[i], layer: layers[i], ...p, training: false }), 1).dataSync()));
      disposeBatch(p);
      return pred;
    });
    batches.forEach(disposeBatch);
    preds[0].forEach((y, i) => (same += y === preds[1][i] ? 1 : 0));
    total += group.length;
  }
  if (total === 0) throw new Error("interchangeAgreement needs at least two examples.");
  return same / total;
}

/**
 * The IMDB task's own teacher: the course's CNN teacher architecture (teacherSpec("cnn")) trained on the IMDB
 * task (a tenth of its train examples held out for early stopping), cached under checkpoints/teacher-imdb-cnn-<mode>
 * like the SST-2 teachers (same cache rules, plus a hash of the examples). Frozen. `npm run teachers` makes it too.
 */
export async function imdbTeacher(o: {
  task: { train: LabelledIds[]; dev: LabelledIds[] };
  vocab: Vocab;
  mode?: Mode;
  /** Retrain even when a fitting checkpoint exists. */
  force?: boolean;
  log?: (m: string) => void;
}): Promise<{ model: SentenceClassifier; devAccuracy: number; loaded: boolean; trainSeconds: number }> {
  const m = o.mode ?? currentMode();
  const spec = teacherSpec("cnn", m);
  const valSize = Math.max(50, Math.floor(o.task.train.length / 10));
  const [val, train] = [o.task.train.slice(0, valSize), o.task.train.slice(valSize)];
  const r = await pretrainCached({
    dir: checkpointDir(`teacher-imdb-cnn-${m}`), log: o.log, force: o.force,
    key: {
      mode: m, trainSize: o.task.train.length, vocabSize: o.vocab.size, fit: JSON.parse(JSON.stringify(spec.fit)), code: sourceFingerprint(spec.sources),
      // The examples themselves (which reviews, how cut, which vocabulary): other data means another teacher.
      data: createHash("sha256").update(JSON.stringify(o.task.train)).update(o.vocab.tokens.join("\n")).digest("hex").slice(0, 16),
    },
    make: () => spec.make(o.vocab.size),
    train: async (model) => {
      const trainer = new Trainer<LabelledIds>(model, { ...spec.fit, progress: false, plot: false });
      const h = await trainer.fit(train, { validation: val });
      trainer.dispose();
      return { seconds: h.seconds };
    },
  });
  r.model.setTrainable(false);
  return { model: r.model, devAccuracy: new Trainer<LabelledIds>(r.model).score(o.task.dev, "accuracy"), loaded: r.loaded, trainSeconds: r.result.seconds };
}
