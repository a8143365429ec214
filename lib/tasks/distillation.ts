// Experiment runners for notebook 07 (distillation): train a student with an objective over several seeds,
// born-again generations, co-distillation with learning curves. Each trains through the one Trainer with a
// Distiller or CoDistiller (lib/models/distiller.ts) and scores on SST-2 dev; the notebook only narrates.
import { CnnClassifier } from "../models/cnn_classifier";
import { SentenceClassifier, LabelledIds } from "../models/classifier";
import { Distiller, DistillExample, DistillObjective } from "../models/distiller";
import { CoDistiller } from "../models/co_distiller";
import { labelWithTeachers } from "../models/teacher_outputs";
import { Trainer, TrainerOptions, History } from "../train/trainer";
import { accuracy } from "../eval/metrics";
import { summariseSeeds, SeedSummary } from "../eval/seeds";
import { Mode, mode as currentMode } from "../mode";

export interface StudentSize {
  embedDim: number;
  width: number;
  layers: number;
}

/** The course's student: a small residual CNN (the fastest of the three encoders to train on a CPU). */
export function makeStudent(opts: { vocabSize: number; size: StudentSize; seed?: number; dropout?: number }): SentenceClassifier {
  const { vocabSize, size } = opts;
  return new CnnClassifier({ vocabSize, embedDim: size.embedDim, width: size.width, layers: size.layers, kernel: 3, dropout: opts.dropout ?? 0.2, maxLen: 60, seed: opts.seed ?? 0 });
}

/** Student sizes from tiny to teacher-sized (the full-mode CNN teacher is embedDim 128, width 128, 4 layers). */
export const STUDENT_SIZES: Record<string, StudentSize> = {
  tiny: { embedDim: 4, width: 8, layers: 1 },
  small: { embedDim: 8, width: 16, layers: 2 },
  student: { embedDim: 16, width: 32, layers: 1 },
  medium: { embedDim: 32, width: 64, layers: 2 },
  large: { embedDim: 64, width: 128, layers: 3 },
  teacher: { embedDim: 128, width: 128, layers: 4 },
};

/** Notebook 07's sizes per mode: quick and full run the same code. */
export function distillSettings(m: Mode = currentMode()) {
  const full = m === "full";
  return {
    /**
     * Gold-labelled sentences the student trains on: a slice of the teachers' training set. Hinton et al. (§3)
     * show soft targets matter most when the student's labelled data is small.
     */
    studentTrainSize: full ? 5000 : 1000,
    student: STUDENT_SIZES.student,
    /** The same budget for every student: a fixed number of steps (linear decay to a tenth of the rate). */
    fit: {
      maxSteps: full ? 1500 : 100, epochs: 10_000, batchSize: 32, learningRate: 1e-2, clipNorm: 5,
      schedule: { kind: "linear", finalFraction: 0.1 },
    } as TrainerOptions<DistillExample>,
    /** Seeds for the comparisons whose claims are checked (section 1) ... */
    seeds: full ? [1, 2, 3] : [1, 2],
    /** ... and for the temperature sweep and sections 5-8's modes (the size sweep uses one seed: its large students are slow). */
    sweepSeeds: full ? [1, 2] : [1],
    temperatures: [1, 2, 4, 8],
    sizes: full ? ["tiny", "small", "student", "medium", "large", "teacher"] : ["tiny", "student", "medium"],
    transferSizes: full ? [0, 5000, 20000, 50000] : [0, 3000],
    generations: full ? 3 : 2,
    /** Self-distillation of lower layers: a 3-layer student whose layers 1-2 get exits; α = 0 (gold only) vs 0.5. */
    exitStudent: { embedDim: 16, width: 32, layers: 3 } as StudentSize,
    alphas: [0, 0.5],
    /** One teacher per task: IMDB reviews as the second task (imdbTask's sizes; the student's slice of it). */
    imdb: { trainSize: full ? 20000 : 3000, devSize: full ? 2000 : 500, studentSize: full ? 5000 : 1000, seed: 1 },
    /** The counterfactual objective: a 2-layer student's layer 1 aligned with the CNN teacher's layer 2. */
    cfStudent: { embedDim: 16, width: 32, layers: 2 } as StudentSize,
    interchange: { studentLayer: 1, teacherLayer: 2, fraction: 0.3 },
    evalEvery: full ? 100 : 20,
  };
}

export interface StudentRun {
  seed: number;
  devAccuracy: number;
  /** Predicted dev labels (for agreement with the teacher). */
  devPred: number[];
  params: number;
  history: History;
}

export interface StudentExperiment {
  name: string;
  /** Builds the student for a seed. */
  make: (seed: number) => SentenceClassifier;
  /** Training examples: gold-labelled and/or unlabelled (label null), with cached teacherLogits when the objective needs them. */
  train: DistillExample[];
  dev: LabelledIds[];
  /** { gold: 1 } trains from scratch; see DistillObjective. */
  objective: DistillObjective;
  /** Live teachers, needed only for the hidden-state terms (cosine, mse). */
  teachers?: SentenceClassifier[];
  /** Trainer settings; the seed is set per run. A fixed step budget (maxSteps) keeps comparisons fair. */
  fit: TrainerOptions<DistillExample>;
  seeds: number[];
  /** Called with each finished student before it is disposed (keep what you need from it). */
  onStudent?: (student: SentenceClassifier, run: StudentRun) => void | Promise<void>;
}

export interface StudentResult extends SeedSummary {
  name: string;
  params: number;
  runs: StudentRun[];
}

/** Train one student per seed with the objective; dev accuracy mean ± std over seeds. */
export async function trainStudents(x: StudentExperiment): Promise<StudentResult> {
  if (!x.seeds?.length) throw new Error(`${x.name}: seeds is empty; pass e.g. seeds: [1, 2, 3].`);
  if (!x.train?.length) throw new Error(`${x.name}: no training examples.`);
  const gold = x.dev.map((e) => e.label);
  const runs: StudentRun[] = [];
  for (const seed of x.seeds) {
    const student = x.make(seed);
    const distiller = new Distiller({ student, teachers: x.teachers, objective: x.objective, seed });
    const trainer = new Trainer<DistillExample>(distiller, { progress: false, plot: false, ...x.fit, seed });
    try {
      const history = await trainer.fit(x.train);
      const devPred = new Trainer<LabelledIds>(student).predict(x.dev);
      const run = { seed, devAccuracy: accuracy(gold, devPred), devPred, params: student.paramCount(), history };
      runs.push(run);
      await x.onStudent?.(student, run);
    } finally {
      trainer.dispose();
      distiller.dispose();
      student.dispose();
    }
  }
  return { name: x.name, params: runs[0].params, runs, ...summariseSeeds(runs.map((r) => r.devAccuracy)) };
}

/** Gold-labelled examples as a student's training set (no teacher). */
export const goldExamples = (xs: LabelledIds[]): DistillExample[] => xs.map((e) => ({ ids: e.ids, label: e.label }));

/** Unlabelled sentences (a transfer set): the teacher's outputs are the only signal. */
export const unlabelled = (xs: { ids: number[] }[]): DistillExample[] => xs.map((e) => ({ ids: e.ids, label: null }));

export interface BornAgainOptions {
  make: (seed: number) => SentenceClassifier;
  train: LabelledIds[];
  dev: LabelledIds[];
  /** Generation 0 learns from gold labels; generation g > 0 from generation g − 1 with this objective. */
  objective: DistillObjective;
  generations: number;
  fit: TrainerOptions<DistillExample>;
  seed?: number;
}

/**
 * Born-again networks (Furlanello et al. 2018): students of the teacher's own architecture, each generation
 * taught by the previous one. One result per generation (generation 0 = trained on gold only), one seed each.
 */
export async function bornAgain(o: BornAgainOptions): Promise<StudentResult[]> {
  if (!(Number.isInteger(o.generations) && o.generations >= 1)) throw new Error(`generations (${o.generations}) must be an integer >= 1.`);
  const out: StudentResult[] = [];
  let train: DistillExample[] = goldExamples(o.train);
  for (let g = 0; g <= o.generations; g++) {
    const seed = (o.seed ?? 0) + g;
    out.push(
      await trainStudents({
        name: `generation ${g}`, make: () => o.make(seed), train, dev: o.dev, objective: g === 0 ? { gold: 1 } : o.objective, fit: o.fit, seeds: [seed],
        // The next generation's teacher: this one's outputs on the training set, computed once.
        onStudent: (student) => void (train = labelWithTeachers({ teachers: [student], examples: goldExamples(o.train) })),
      }),
    );
  }
  return out;
}

export interface CoDistillOptions {
  /** Builds the models that learn together (two or more). */
  make: ((seed: number) => SentenceClassifier)[];
  names: string[];
  train: LabelledIds[];
  dev: LabelledIds[];
  /** Weight of the mutual (soft-target) term; 0 trains the same models side by side, independently. */
  mutual: number;
  temperature?: number;
  fit: TrainerOptions<DistillExample>;
  /** Dev accuracy of every model every this many steps. */
  evalEvery: number;
  seed?: number;
}

export interface CoDistillResult {
  steps: number[];
  /** accuracy[model][evaluation] on dev. */
  curves: { name: string; accuracy: number[] }[];
  final: { name: string; devAccuracy: number; devPred: number[] }[];
}

/** Deep mutual learning through the one Trainer, with each model's dev accuracy along the way. */
export async function coDistill(o: CoDistillOptions): Promise<CoDistillResult> {
  if (o.make.length !== o.names.length) throw new Error(`make (${o.make.length}) and names (${o.names.length}) must pair up.`);
  const seed = o.seed ?? 0;
  const models = o.make.map((make, i) => make(seed + i));
  const co = new CoDistiller({ models, mutual: o.mutual, temperature: o.temperature });
  const gold = o.dev.map((e) => e.label);
  const scorers = models.map((m) => new Trainer<LabelledIds>(m));
  const curves = o.names.map((name) => ({ name, accuracy: [] as number[] }));
  const steps: number[] = [];
  const record = (step: number) => {
    steps.push(step);
    scorers.forEach((s, i) => curves[i].accuracy.push(accuracy(gold, s.predict(o.dev))));
  };
  const trainer = new Trainer<DistillExample>(co, {
    progress: false, plot: false, ...o.fit, seed, evalEvery: o.evalEvery,
    onEval: (info) => record(info.step),
  });
  try {
    record(0);
    await trainer.fit(goldExamples(o.train));
    const final = scorers.map((s, i) => {
      const devPred = s.predict(o.dev);
      return { name: o.names[i], devAccuracy: accuracy(gold, devPred), devPred };
    });
    return { steps, curves, final };
  } finally {
    trainer.dispose();
    co.dispose();
    models.forEach((m) => m.dispose());
  }
}
