// The course's own SST-2 models as distillation teachers (lecture 6): notebook 01's BiLSTM, notebook 02's
// residual CNN and notebook 03's transformer classifier, at those notebooks' settings, trained once per mode and
// cached under checkpoints/ (pretrainCached: atomic, hash-verified, config-checked).
//
// The cache key holds everything that makes a teacher what it is: the model's config (checked by the
// checkpoint), the data (split options and a hash of the vocabulary), the training settings, and a fingerprint
// of the code that computes the model. Change any of them and the teacher is retrained, never loaded stale.
//
// Full-mode teachers take a while (see README); make them ahead of time with
//   npm run teachers -- --full
import { createHash } from "node:crypto";
import * as path from "node:path";
import { Mode, mode as currentMode } from "../mode";
import { Sst2Data, Sst2Options } from "./sst2";
import { SentenceClassifier, LabelledIds } from "../models/classifier";
import { RnnClassifier } from "../models/rnn_classifier";
import { CnnClassifier } from "../models/cnn_classifier";
import { TransformerClassifier } from "../models/transformer_classifier";
import { checkpointDir, pretrainCached, sourceFingerprint } from "../models/pretrain_cache";
import { Trainer, TrainerOptions } from "../train/trainer";
import { accuracy } from "../eval/metrics";

export type TeacherName = "bilstm" | "cnn" | "transformer";
export const TEACHER_NAMES: readonly TeacherName[] = ["bilstm", "cnn", "transformer"];

/** The SST-2 split every teacher and student of a mode shares (full = notebooks 01-03's, so the vocabulary is theirs). */
export function teacherData(m: Mode = currentMode()): Sst2Options {
  return m === "full" ? { valSize: 1000, minCount: 2, seed: 0 } : { trainSize: 3000, valSize: 300, minCount: 1, seed: 0 };
}

export interface TeacherSpec {
  name: TeacherName;
  /** How tables and plots call it. */
  label: string;
  make: (vocabSize: number) => SentenceClassifier;
  /** Trainer settings (JSON-able parts enter the cache key). */
  fit: TrainerOptions<LabelledIds>;
  /** lib/ files whose code computes the model (their fingerprint enters the cache key). */
  sources: string[];
}

const COMMON = ["nn/module.ts", "nn/layers.ts", "models/classifier.ts"];

/** Each teacher's architecture and training at the notebook's settings for mode `m`. */
export function teacherSpec(name: TeacherName, m: Mode = currentMode()): TeacherSpec {
  const full = m === "full";
  const fit = (learningRate: number, epochs: number): TrainerOptions<LabelledIds> => ({
    epochs, batchSize: 64, learningRate, clipNorm: 5, seed: 1, bucketBy: (x) => x.ids.length,
    earlyStopping: { patience: 2, metric: "macroF1" },
  });
  switch (name) {
    case "bilstm": // notebook 01
      return {
        name, label: "BiLSTM", fit: fit(2e-3, full ? 8 : 2), sources: [...COMMON, "nn/rnn.ts", "models/rnn_classifier.ts"],
        make: (vocabSize) => new RnnClassifier({ vocabSize, embedDim: full ? 128 : 32, hidden: full ? 128 : 32, dropout: 0.3, maxLen: 60, seed: 1 }),
      };
    case "cnn": // notebook 02
      return {
        name, label: "residual CNN", fit: fit(1e-3, full ? 8 : 3), sources: [...COMMON, "nn/conv.ts", "models/cnn_classifier.ts"],
        make: (vocabSize) => new CnnClassifier({ vocabSize, embedDim: full ? 128 : 48, width: full ? 128 : 64, kernel: 3, layers: full ? 4 : 3, dropout: 0.3, maxLen: 60, seed: 1 }),
      };
    case "transformer": // notebook 03
      return {
        name, label: "transformer", fit: fit(1e-3, full ? 6 : 2),
        sources: [...COMMON, "nn/transformer.ts", "nn/attention.ts", "nn/positions.ts", "models/transformer_classifier.ts"],
        make: (vocabSize) => new TransformerClassifier({ vocabSize, width: full ? 128 : 32, heads: 4, layers: full ? 2 : 1, mlpRatio: 4, dropout: 0.1, pooling: "mean", maxLen: 60, seed: 1 }),
      };
    default:
      throw new Error(`teacher "${name}" is unknown: use one of ${TEACHER_NAMES.join(", ")}.`);
  }
}

export interface Teacher {
  name: TeacherName;
  label: string;
  /** Frozen (non-trainable) after loading. */
  model: SentenceClassifier;
  /** Where its checkpoint lives. */
  dir: string;
  /** true when loaded from the cache. */
  loaded: boolean;
  /** Training time when it was made (seconds; from the cache when loaded). */
  trainSeconds: number;
  /** SST-2 dev accuracy. */
  devAccuracy: number;
}

export interface Sst2TeachersOptions {
  /** prepareSst2(teacherData(mode)): teachers and students must read the same vocabulary. */
  data: Sst2Data;
  names?: TeacherName[];
  mode?: Mode;
  /** Retrain even when a fitting checkpoint exists. */
  force?: boolean;
  /** When no fitting checkpoint exists: "train" (default) now, or "error" with the command that makes them. */
  ifMissing?: "train" | "error";
  log?: (message: string) => void;
  /** Folder for the teachers' checkpoints (default: checkpoints/ at the repository root). */
  cacheRoot?: string;
}

/** The command that makes (and caches) the teachers of a mode. */
export const makeTeachersCommand = (m: Mode): string => `npm run teachers${m === "full" ? " -- --full" : ""}`;

/** Load each teacher from checkpoints/teacher-<name>-<mode>, or train and cache it (see the file comment). */
export async function sst2Teachers(opts: Sst2TeachersOptions): Promise<Teacher[]> {
  const m = opts.mode ?? currentMode();
  const names = opts.names ?? [...TEACHER_NAMES];
  const log = opts.log ?? ((s: string) => console.log(s));
  const { data } = opts;
  if (!data?.vocab || !data.train?.encoded?.length) throw new Error("sst2Teachers needs { data } from prepareSst2(teacherData(mode)).");
  const vocabHash = createHash("sha256").update(data.vocab.tokens.join("\n")).digest("hex").slice(0, 16);
  const teachers: Teacher[] = [];
  for (const name of names) {
    const spec = teacherSpec(name, m);
    const dir = opts.cacheRoot ? path.join(opts.cacheRoot, `teacher-${name}-${m}`) : checkpointDir(`teacher-${name}-${m}`);
    const key = {
      mode: m, trainSize: data.train.encoded.length, valSize: data.val.encoded.length, vocabSize: data.vocab.size, vocabHash,
      fit: JSON.parse(JSON.stringify(spec.fit)), code: sourceFingerprint(spec.sources),
    };
    const r = await pretrainCached({
      dir, key, force: opts.force, log,
      make: () => spec.make(data.vocab.size),
      train: async (model) => {
        if (opts.ifMissing === "error") {
          throw new Error(`no fitting ${m}-mode ${spec.label} teacher in ${dir}: make the teachers with \`${makeTeachersCommand(m)}\` (or pass ifMissing: "train").`);
        }
        log(`training the ${m}-mode ${spec.label} teacher (cached for next time; \`${makeTeachersCommand(m)}\` makes them ahead of time)`);
        const trainer = new Trainer<LabelledIds>(model, { ...spec.fit, progress: false, plot: false });
        const history = await trainer.fit(data.train.encoded, { validation: data.val.encoded });
        trainer.dispose();
        return { seconds: history.seconds, steps: history.steps.length };
      },
    });
    r.model.setTrainable(false);
    const pred = new Trainer<LabelledIds>(r.model).predict(data.dev.encoded);
    const devAccuracy = accuracy(data.dev.encoded.map((x) => x.label), pred);
    teachers.push({ name, label: spec.label, model: r.model, dir, loaded: r.loaded, trainSeconds: r.result.seconds, devAccuracy });
  }
  return teachers;
}
