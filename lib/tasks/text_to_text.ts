// T5's text-to-text framing (Raffel et al. 2020, §2.4): every task is "text in, text out", and a task PREFIX in
// plain text tells one model which task an input belongs to ("translate English to German: That is good." →
// "Das ist gut."). One vocabulary serves every task and both sides; each task keeps its own tokenization and its
// own way of joining output tokens back into text (characters for spelling, spaces for logical forms).
//
// Training on several tasks at once needs a MIXING strategy (T5 §3.5.2), how often each task's examples are drawn:
//   proportional   r_m = min(e_m, K) / Σ_n min(e_n, K)    (e_m examples in task m; the limit K keeps a huge task
//                                                          from drowning the others)
//   temperature    r_m ∝ (proportional r_m)^(1/T)          (T = 1 is proportional; large T approaches equal)
//   equal          r_m = 1 / M
//
//   const t2t = textToText([{ prefix: "parse:", task: cogs }, { prefix: "spell:", task: spelling }]);
//   const rates = mixingRates(t2t.tasks.map((t) => t.train.length), { kind: "temperature", temperature: 2 });
//   const mixed = mixExamples(t2t.tasks.map((t) => t.train), { rates, count: steps * batchSize });
import { Rng } from "../random";
import { Vocab } from "../data/vocab";
import { Seq2SeqCodec, SideOptions } from "../data/seq2seq";
import { Seq2SeqTask, TaskPair, encodePairs } from "./seq2seq_task";
import { DecodeStrategy, StepDecoder } from "../decode";
import { Seq2SeqEvaluation, Seq2SeqMetric, evaluateSeq2Seq } from "../eval/seq2seq_eval";
import { TrainerOptions } from "../train/trainer";
import { TransformerSeq2Seq, TransformerSeq2SeqOptions } from "../models/seq2seq/transformer_seq2seq";
import { throwIfInterrupted } from "../interrupt";
import { FitCachedResult, trainTransformerSeq2Seq } from "./seq2seq_runs";

/** A task in text-to-text form: its splits re-encoded with the shared vocabulary, every source behind the prefix. */
export interface TextToTextTask extends Seq2SeqTask {
  /** The plain-text prefix ("" for none), e.g. "translate English to German:". */
  prefix: string;
  /** The prefix's token ids (words split at spaces), the first ids of every source. */
  prefixIds: number[];
  /** Every other split of the original task (COGS's `gen`), re-encoded the same way. */
  extra: Record<string, TaskPair[]>;
}

export interface TextToTextOptions {
  /** Keep tokens seen at least this often in the training pairs (default 1). */
  minCount?: number;
  /** Extra token lists the vocabulary must cover (e.g. a pre-training corpus's characters). */
  extraTokens?: string[][];
}

const prefixTokens = (prefix: string): string[] => prefix.split(" ").filter((t) => t.length > 0);

/** A codec with the task's tokenization on each side and a GIVEN vocabulary on both (built elsewhere). */
export function codecWithVocabulary(sides: { source: SideOptions; target: SideOptions }, vocab: Vocab): Seq2SeqCodec {
  return Seq2SeqCodec.fromJSON({ kind: "nlu-course/seq2seq-codec", source: sides.source, target: sides.target, shared: true, sourceVocab: vocab.toJSON(), targetVocab: vocab.toJSON() });
}

/** The splits of a task: every property that is an array of TaskPairs (train, dev, test, and e.g. gen). */
function splitsOf(task: Seq2SeqTask): [string, TaskPair[]][] {
  return Object.entries(task).filter(([, v]) => Array.isArray(v) && v.length > 0 && typeof (v[0] as TaskPair).sourceText === "string") as [string, TaskPair[]][];
}

/** Re-encode a task with a vocabulary, every source behind `prefix` (its words, then the task's own tokens). */
export function withVocabulary(task: Seq2SeqTask, vocab: Vocab, prefix = ""): TextToTextTask {
  if (!task?.codec || !Array.isArray(task.train)) throw new Error("withVocabulary needs a Seq2SeqTask (from prepareCogs, prepareSpelling, prepareMulti30k, ...).");
  const codec = codecWithVocabulary({ source: task.codec.sourceSide, target: task.codec.targetSide }, vocab);
  const prefixIds = vocab.encode(prefixTokens(prefix));
  const encode = (pairs: TaskPair[]): TaskPair[] =>
    encodePairs(codec, pairs.map((p) => ({ source: p.sourceText, target: p.targetText, ...(p.category !== undefined ? { category: p.category } : {}) }))).map((e, i) => ({
      ...e, source: [...prefixIds, ...e.source], length: pairs[i].length, ...(prefix ? { sourceText: `${prefix} ${e.sourceText}` } : {}),
    }));
  const out: TextToTextTask = { name: task.name, codec, prefix, prefixIds, train: [], dev: [], test: [], extra: {} };
  for (const [key, pairs] of splitsOf(task)) {
    if (key === "train" || key === "dev" || key === "test") out[key] = encode(pairs);
    else out.extra[key] = encode(pairs);
  }
  return out;
}

/**
 * Tasks in text-to-text form with ONE vocabulary: the prefixes' words and every training pair's tokens (each
 * task tokenized its own way). Errors: no tasks, a prefix used twice.
 */
export function textToText(tasks: { prefix: string; task: Seq2SeqTask }[], opts: TextToTextOptions = {}): { vocab: Vocab; tasks: TextToTextTask[] } {
  if (!Array.isArray(tasks) || tasks.length === 0) throw new Error("textToText needs at least one { prefix, task }.");
  const prefixes = tasks.map((t) => t.prefix.trim());
  const twice = prefixes.find((p, i) => prefixes.indexOf(p) !== i);
  if (twice !== undefined) throw new Error(`prefix "${twice}" is used by two tasks: give every task its own prefix.`);
  const corpus: string[][] = [...(opts.extraTokens ?? [])];
  for (const { prefix, task } of tasks) {
    corpus.push(prefixTokens(prefix));
    for (const p of task.train) corpus.push(task.codec.sourceTokens(p.sourceText), task.codec.targetTokens(p.targetText));
  }
  const vocab = Vocab.build(corpus, { minCount: opts.minCount });
  return { vocab, tasks: tasks.map(({ prefix, task }) => withVocabulary(task, vocab, prefix.trim())) };
}

/** One task with one vocabulary for source and target (what a decoder-only or prefix-LM model needs), no prefix. */
export function sharedVocabularyTask(task: Seq2SeqTask, opts: TextToTextOptions = {}): TextToTextTask {
  return textToText([{ prefix: "", task }], opts).tasks[0];
}

/** The same example under another task's prefix: its own prefix ids swapped for `to`'s. */
export function swapPrefix(example: TaskPair, from: TextToTextTask, to: TextToTextTask): TaskPair {
  const head = example.source.slice(0, from.prefixIds.length);
  if (head.some((id, i) => id !== from.prefixIds[i])) throw new Error(`the example does not start with the prefix "${from.prefix}" of task ${from.name}.`);
  const rest = example.source.slice(from.prefixIds.length);
  const text = from.prefix ? example.sourceText.slice(from.prefix.length + 1) : example.sourceText;
  return { ...example, source: [...to.prefixIds, ...rest], sourceText: to.prefix ? `${to.prefix} ${text}` : text };
}

// ---------------------------------------------------------------------------------------------- mixing

export type MixingStrategy =
  | { kind: "proportional"; limit?: number }
  | { kind: "temperature"; temperature: number; limit?: number }
  | { kind: "equal" };
export const MIXING_KINDS = ["proportional", "temperature", "equal"] as const;

/** T5 §3.5.2's mixing rates for tasks of `sizes` examples (see the top of this file); they sum to 1. */
export function mixingRates(sizes: readonly number[], strategy: MixingStrategy): number[] {
  if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`mixingRates needs the positive example count of every task, got [${sizes}].`);
  }
  if (!strategy || !MIXING_KINDS.includes(strategy.kind)) throw new Error(`mixing strategy "${(strategy as { kind?: string })?.kind}" is unknown: use one of ${MIXING_KINDS.join(", ")}.`);
  if (strategy.kind === "equal") return sizes.map(() => 1 / sizes.length);
  const limit = strategy.limit ?? Infinity;
  if (!(limit > 0)) throw new Error(`mixing limit K (${limit}) must be positive (T5 used 2^21 examples).`);
  const capped = sizes.map((n) => Math.min(n, limit));
  const power = strategy.kind === "temperature" ? 1 / strategy.temperature : 1;
  if (!(power > 0 && Number.isFinite(power))) throw new Error(`temperature (${(strategy as { temperature: number }).temperature}) must be a positive number (1 = proportional; T5 tried 2, 4 and 8).`);
  const total = capped.reduce((s, n) => s + n, 0);
  const scaled = capped.map((n) => Math.pow(n / total, power));
  const z = scaled.reduce((s, x) => s + x, 0);
  return scaled.map((x) => x / z);
}

/**
 * `count` examples drawn from the tasks' training sets: each draw picks task m with probability rates[m], then
 * that task's next example in a shuffled order (reshuffled after every pass, so a task's examples are used evenly).
 * Returns the examples and the task index of each. Errors: rates that are not one probability per task.
 */
export function mixExamples<E>(sets: readonly (readonly E[])[], opts: { rates: readonly number[]; count: number; seed?: number }): { examples: E[]; tasks: number[] } {
  const { rates, count } = opts;
  if (!Array.isArray(sets) || sets.length === 0 || sets.some((s) => !s?.length)) throw new Error("mixExamples needs one non-empty example list per task.");
  if (rates.length !== sets.length || !rates.every((r) => r >= 0) || Math.abs(rates.reduce((s, r) => s + r, 0) - 1) > 1e-6) {
    throw new Error(`mixExamples: rates [${rates.map((r) => r.toFixed(3))}] must be ${sets.length} non-negative numbers summing to 1 (mixingRates makes them).`);
  }
  if (!Number.isInteger(count) || count < 1) throw new Error(`mixExamples: count (${count}) must be a positive integer.`);
  const rng = new Rng(opts.seed ?? 0);
  const orders = sets.map((s) => rng.shuffle(Array.from({ length: s.length }, (_, i) => i)));
  const next = sets.map(() => 0);
  const examples: E[] = [];
  const tasks: number[] = [];
  for (let n = 0; n < count; n++) {
    let u = rng.next();
    let m = 0;
    while (m < rates.length - 1 && u >= rates[m]) u -= rates[m++];
    if (next[m] === orders[m].length) (rng.shuffle(orders[m]), (next[m] = 0));
    examples.push(sets[m][orders[m][next[m]++]]);
    tasks.push(m);
  }
  return { examples, tasks };
}

// ---------------------------------------------------------------------------------------------- evaluation

export interface TaskScore {
  task: string;
  prefix: string;
  evaluation: Seq2SeqEvaluation;
}

/**
 * Evaluate one model on every task, each with ITS codec (its tokenization joins the output back into text) and
 * its prefixed sources: one row per task (exact match, token accuracy, and any metric asked for).
 */
export async function evaluateTasks(opts: { model: StepDecoder; tasks: readonly TextToTextTask[]; split?: "dev" | "test"; strategy?: DecodeStrategy; metrics?: Seq2SeqMetric[]; batchSize?: number }): Promise<TaskScore[]> {
  const out: TaskScore[] = [];
  for (const t of opts.tasks) {
    const examples = t[opts.split ?? "test"];
    const evaluation = await evaluateSeq2Seq({ model: opts.model, codec: t.codec, examples, strategy: opts.strategy, metrics: opts.metrics, batchSize: opts.batchSize });
    out.push({ task: t.name, prefix: t.prefix, evaluation });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- multitask vs single

export interface MultitaskStudyOptions {
  tasks: TextToTextTask[];
  strategy: MixingStrategy;
  /** Training steps of the multitask model; each single-task model gets its task's share (steps · r_m). */
  steps: number;
  model: Omit<TransformerSeq2SeqOptions, "vocabSize">;
  /** Trainer settings besides the step budget (batch size, learning rate, schedule, clipping). */
  trainer: Omit<TrainerOptions<TaskPair>, "maxSteps" | "epochs">;
  name?: string;
  seed?: number;
}

export interface MultitaskStudy {
  rates: number[];
  /** The mixed training stream's task shares, as drawn. */
  drawn: number[];
  multitask: FitCachedResult<TransformerSeq2Seq>;
  /** One per task, trained on that task alone for steps · r_m steps: the same examples of it as the multitask model saw. */
  single: FitCachedResult<TransformerSeq2Seq>[];
  scores: { multitask: TaskScore[]; single: TaskScore[] };
}

/**
 * T5 §3.5.2 at course scale: one model trained on a mixture of tasks vs one model per task at the same budget
 * (each single-task model sees as many examples of its task as the mixture gave the multitask model, so the
 * single models together cost what the multitask model costs). Cached; evaluated per task on the test splits.
 */
export async function runMultitaskStudy(opts: MultitaskStudyOptions): Promise<MultitaskStudy> {
  const { tasks, steps } = opts;
  const batchSize = opts.trainer.batchSize ?? 32;
  const base = opts.name ?? "t5-multitask";
  const rates = mixingRates(tasks.map((t) => t.train.length), opts.strategy);
  const mixed = mixExamples(tasks.map((t) => t.train), { rates, count: steps * batchSize, seed: opts.seed });
  const drawn = tasks.map((_, m) => mixed.tasks.filter((x) => x === m).length / mixed.tasks.length);
  const key = { prefixes: tasks.map((t) => t.prefix), sizes: tasks.map((t) => t.train.length), strategy: opts.strategy };
  const multitask = await trainTransformerSeq2Seq({ name: `${base}-mixture`, task: tasks[0], train: mixed.examples, model: opts.model, trainer: { ...opts.trainer, epochs: 1, maxSteps: steps }, key });
  const single: FitCachedResult<TransformerSeq2Seq>[] = [];
  for (const [m, t] of tasks.entries()) {
    throwIfInterrupted("the multitask study");
    const maxSteps = Math.max(1, Math.round(steps * drawn[m]));
    single.push(await trainTransformerSeq2Seq({ name: `${base}-single-${m}`, task: t, model: opts.model, trainer: { ...opts.trainer, epochs: 1_000_000, maxSteps }, key }));
  }
  const multiScores = await evaluateTasks({ model: multitask.model, tasks });
  const singleScores: TaskScore[] = [];
  for (const [m, t] of tasks.entries()) singleScores.push(...(await evaluateTasks({ model: single[m].model, tasks: [t] })));
  return { rates, drawn, multitask, single, scores: { multitask: multiScores, single: singleScores } };
}
