// A teacher's outputs, computed once and kept with the examples (lecture 6). A frozen teacher gives the same
// answer in every epoch, so its logits — and, for the hidden-state objectives, its last layer's token states —
// are computed in one inference pass (labelWithTeachers) and read back by the Distiller at every step.
// Unlabelled sentences (Tang et al. 2019's transfer set) have label null: the teacher is their only label.
import * as tf from "@tensorflow/tfjs";
import { makeBatches } from "../data/batching";
import { disposeBatch } from "../train/model";
import { SentenceClassifier } from "./classifier";

export interface DistillExample {
  ids: number[];
  /** The gold label, or null for an unlabelled (transfer-set) sentence. */
  label: number | null;
  /** Cached teacher logits, one row per teacher: [teachers][classes]. */
  teacherLogits?: number[][];
  /** Cached last-layer token states of the first teacher, [tokens × width] flattened (labelWithTeachers({ states: true })). */
  teacherStates?: Float32Array;
}

function vocabSizeOf(m: SentenceClassifier): unknown {
  return (m as { config?: () => Record<string, unknown> }).config?.().vocabSize;
}

/** Models compared output by output must share the label set and the vocabulary; otherwise a clear error. */
export function checkCompatible(a: SentenceClassifier, b: SentenceClassifier, names: [string, string]): void {
  if (a.numClasses !== b.numClasses) {
    throw new Error(`${names[0]} has ${a.numClasses} classes but ${names[1]} has ${b.numClasses}: distillation needs one label set (same numClasses, same label order).`);
  }
  const [va, vb] = [vocabSizeOf(a), vocabSizeOf(b)];
  if (va !== undefined && vb !== undefined && va !== vb) {
    throw new Error(`${names[0]} reads a vocabulary of ${va} types but ${names[1]} one of ${vb}: build both on the same Vocab, or the same ids would mean different words.`);
  }
}

/** Run `fn` on each batch of `model`'s inputs for the examples, in order, in inference mode. */
function inBatches(model: SentenceClassifier, examples: { ids: number[] }[], batchSize: number, fn: (batch: ReturnType<SentenceClassifier["collate"]>, start: number) => void): void {
  let start = 0;
  for (const group of makeBatches(examples.map((e) => ({ ids: e.ids, label: 0 })), { batchSize, shuffle: false })) {
    const batch = model.collate(group);
    try {
      fn(batch, start);
    } finally {
      disposeBatch(batch);
    }
    start += group.length;
  }
}

/** Each teacher's logits (inference mode) for each example → [examples][teachers][classes]. */
export function teacherLogitsFor(teachers: SentenceClassifier[], examples: { ids: number[] }[], batchSize = 256): number[][][] {
  if (teachers.length === 0) throw new Error("teacherLogitsFor needs at least one teacher.");
  const out: number[][][] = examples.map(() => []);
  for (const teacher of teachers) {
    inBatches(teacher, examples, batchSize, (batch, start) => {
      const rows = tf.tidy(() => teacher.logits(batch, false).arraySync() as number[][]);
      rows.forEach((r, i) => out[start + i].push(r));
    });
  }
  return out;
}

/** One teacher's last-layer token states for each example, [its tokens × stateWidth] flattened. */
export function teacherStatesFor(teacher: SentenceClassifier, examples: { ids: number[] }[], batchSize = 256): Float32Array[] {
  const out: Float32Array[] = new Array(examples.length);
  const w = teacher.stateWidth;
  inBatches(teacher, examples, batchSize, (batch, start) => {
    const states = tf.tidy(() => teacher.tokenStates(batch.ids, batch.mask, false));
    const lengths = tf.tidy(() => tf.sum(batch.mask, 1).dataSync());
    const data = states.dataSync() as Float32Array;
    const t = states.shape[1];
    states.dispose();
    lengths.forEach((len, i) => (out[start + i] = data.slice(i * t * w, (i * t + len) * w)));
  });
  return out;
}

/**
 * An ensemble's prediction: the argmax of its members' average distribution (Hinton et al. 2015 §1), from
 * teacherLogitsFor's [examples][teachers][classes] → one label per example.
 */
export function ensemblePredictions(logits: number[][][]): number[] {
  return logits.map((rows) => {
    const probs = rows.map(softmaxRow);
    const mean = probs[0].map((_, k) => probs.reduce((s, p) => s + p[k], 0) / probs.length);
    return mean.indexOf(Math.max(...mean));
  });
}

function softmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export interface LabelWithTeachersOptions<E> {
  teachers: SentenceClassifier[];
  examples: E[];
  /** Also cache the first teacher's token states (for the cosine / mse objectives). Default false. */
  states?: boolean;
}

/** The examples with every teacher's logits (and optionally states) attached: computed once, used every epoch. */
export function labelWithTeachers<E extends { ids: number[]; label: number | null }>(o: LabelWithTeachersOptions<E>): (E & Pick<DistillExample, "teacherLogits" | "teacherStates">)[] {
  if (!o?.teachers?.length) throw new Error("labelWithTeachers needs { teachers: [at least one model], examples }.");
  o.teachers.forEach((t, i) => i > 0 && checkCompatible(o.teachers[0], t, ["teacher 0", `teacher ${i}`]));
  const logits = teacherLogitsFor(o.teachers, o.examples);
  const states = o.states ? teacherStatesFor(o.teachers[0], o.examples) : undefined;
  return o.examples.map((e, i) => ({ ...e, teacherLogits: logits[i], ...(states ? { teacherStates: states[i] } : {}) }));
}

/**
 * Cached states padded into one tensor: [batch, time, width], zeros at padding. Each example's states must
 * cover exactly the student's `lengths[i]` tokens (same tokens, same truncation), else an error.
 */
export function collateTeacherStates(examples: DistillExample[], lengths: number[], time: number, width: number): tf.Tensor3D {
  const out = new Float32Array(examples.length * time * width);
  examples.forEach((e, i) => {
    const s = e.teacherStates!;
    if (s.length !== lengths[i] * width) {
      throw new Error(
        `example ${i}: the teacher's cached layer has ${s.length / width} token states but the student reads ${lengths[i]} tokens: ` +
          `hidden states can only be tied position by position when both read the same tokens (same vocabulary, maxLen and [CLS] policy).`,
      );
    }
    out.set(s, i * time * width);
  });
  return tf.tensor3d(out, [examples.length, time, width]);
}
