// Experiment runners for the seq2seq notebooks (05, and 06's transformer family): train a model through the one
// Trainer with its weights cached under checkpoints/ (so re-running a notebook, or resuming an interrupted
// full-mode run, retrains nothing), and read a model's attention as an alignment matrix for a heatmap.
import { Module } from "../nn/module";
import { Trainable, TensorBatch } from "../train/model";
import { Trainer, TrainerOptions } from "../train/trainer";
import { checkpointDir, pretrainCached } from "../models/pretrain_cache";
import { mode } from "../mode";
import { InterruptedError } from "../interrupt";
import { StepDecoder, greedyDecode } from "../decode";
import { Seq2SeqBatch, Seq2SeqCodec } from "../data/seq2seq";
import { RnnSeq2Seq, RnnSeq2SeqOptions } from "../models/seq2seq/rnn_seq2seq";
import { TransformerSeq2Seq, TransformerSeq2SeqBatch, TransformerSeq2SeqOptions } from "../models/seq2seq/transformer_seq2seq";
import { Seq2SeqTask, TaskPair } from "./seq2seq_task";

export interface FitCachedOptions<P, M> {
  /** Checkpoint name (letters, digits, . _ -); the mode is appended, so quick and full runs never mix. */
  name: string;
  /** Builds the untrained model. */
  make: () => M;
  train: P[];
  /** Trainer settings (batch size, learning rate, epochs or maxSteps, schedule, clipNorm...). */
  trainer: TrainerOptions<P>;
  /** Anything else that must invalidate the cache when it changes (data version, subset sizes...). */
  key?: Record<string, unknown>;
  /** Retrain even when a fitting checkpoint exists (default false). */
  force?: boolean;
}

export interface FitCachedResult<M> {
  model: M;
  /** Training loss after every step. */
  losses: number[];
  /** Seconds the training took when it ran (kept when loaded from the cache). */
  seconds: number;
  msPerStep: number;
  loaded: boolean;
}

/** The JSON-able part of the Trainer's options (callbacks and bucketing functions are not part of the key). */
function settings(o: TrainerOptions<unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v !== "function"));
}

/** Train `make()` on `train` with the one Trainer, or load the weights a previous identical run cached. */
export async function fitCached<P, B extends TensorBatch, M extends Module & Trainable<P, B>>(opts: FitCachedOptions<P, M>): Promise<FitCachedResult<M>> {
  if (!opts.train?.length) throw new Error(`fitCached(${opts.name}) got no training examples.`);
  const r = await pretrainCached({
    dir: checkpointDir(`${opts.name}-${mode()}`),
    make: opts.make,
    key: { ...settings(opts.trainer as TrainerOptions<unknown>), examples: opts.train.length, ...opts.key },
    force: opts.force,
    train: async (model) => {
      const trainer = new Trainer<P, B>(model, opts.trainer);
      try {
        const h = await trainer.fit(opts.train);
        // Stopped by the stop button: the weights are only partly trained, so they must not be cached as if
        // finished (the next run would load them silently). The model object keeps what was trained.
        if (h.interrupted) throw new InterruptedError(`training ${opts.name} (after ${h.steps.length} steps; nothing was cached)`);
        return { losses: h.steps.map((s) => s.loss), seconds: h.seconds };
      } finally {
        trainer.dispose();
      }
    },
  });
  const { losses, seconds } = r.result;
  return { model: r.model, losses, seconds, msPerStep: (1000 * seconds) / Math.max(1, losses.length), loaded: r.loaded };
}

export interface TrainRnnSeq2SeqOptions {
  /** Checkpoint name, e.g. "cogs-general". */
  name: string;
  task: Seq2SeqTask;
  /** Model options; the vocabulary sizes come from the task's codec. */
  model: Omit<RnnSeq2SeqOptions, "sourceVocabSize" | "targetVocabSize">;
  /** Trainer options; examples are bucketed by target length unless bucketBy says otherwise. */
  trainer: TrainerOptions<TaskPair>;
  force?: boolean;
}

export type TrainedSeq2Seq = FitCachedResult<RnnSeq2Seq>;

/** An RnnSeq2Seq for a task, trained on its training split with the one Trainer (cached, see fitCached). */
export function trainRnnSeq2Seq(opts: TrainRnnSeq2SeqOptions): Promise<TrainedSeq2Seq> {
  const { codec } = opts.task;
  return fitCached<TaskPair, Seq2SeqBatch, RnnSeq2Seq>({
    name: opts.name,
    make: () => new RnnSeq2Seq({ ...opts.model, sourceVocabSize: codec.sourceVocab.size, targetVocabSize: codec.targetVocab.size }),
    train: opts.task.train,
    // Similar target lengths in one batch: the decoder unrolls to the longest target, so less padding is less time.
    trainer: { bucketBy: (e) => e.target.length, ...opts.trainer },
    key: { task: opts.task.name, vocab: [codec.sourceVocab.size, codec.targetVocab.size] },
    force: opts.force,
  });
}

export interface TrainTransformerSeq2SeqOptions {
  /** Checkpoint name, e.g. "t5-cogs-prefix-lm". */
  name: string;
  /** A task with ONE vocabulary for both sides (text_to_text.ts: sharedVocabularyTask or textToText). */
  task: Seq2SeqTask;
  /** Model options; the vocabulary size comes from the task's codec. */
  model: Omit<TransformerSeq2SeqOptions, "vocabSize">;
  trainer: TrainerOptions<TaskPair>;
  /** Training examples if not the task's train split (a multitask mixture, denoising examples). */
  train?: TaskPair[];
  /** Start from these weights (a pre-trained model of the same architecture) instead of a fresh initialisation. */
  init?: TransformerSeq2Seq;
  /** What must invalidate the cache besides the trainer settings (e.g. the pre-trained checkpoint's name). */
  key?: Record<string, unknown>;
  force?: boolean;
}

/** A TransformerSeq2Seq for a task (or from a pre-trained one), trained with the one Trainer (cached, see fitCached). */
export function trainTransformerSeq2Seq(opts: TrainTransformerSeq2SeqOptions): Promise<FitCachedResult<TransformerSeq2Seq>> {
  const { codec } = opts.task;
  if (!codec.shared) throw new Error(`task ${opts.task.name} has separate source and target vocabularies; the transformer family reads one: use sharedVocabularyTask(task) or textToText(...).`);
  return fitCached<TaskPair, TransformerSeq2SeqBatch, TransformerSeq2Seq>({
    name: opts.name,
    make: () => {
      const m = new TransformerSeq2Seq({ ...opts.model, vocabSize: codec.sourceVocab.size });
      return opts.init ? m.copyWeightsFrom(opts.init) : m;
    },
    train: opts.train ?? opts.task.train,
    trainer: { bucketBy: (e) => e.source.length + e.target.length, ...opts.trainer },
    key: { task: opts.task.name, vocab: codec.sourceVocab.size, ...opts.key },
    force: opts.force,
  });
}

export interface Alignment {
  /** Source tokens (columns). */
  source: string[];
  /** Generated tokens, EOS included when the output ended (rows). */
  output: string[];
  /** [output][source] attention weights, rows summing to 1. */
  weights: number[][];
}

/** Greedy-decode one source text and return the model's attention at every step (for a heatmap). */
export function alignmentOf(model: StepDecoder, codec: Seq2SeqCodec, sourceText: string): Alignment {
  const ids = codec.encodeSource(sourceText);
  const [h] = greedyDecode(model, [ids], { returnAttention: true });
  if (!h.attention || h.attention.length === 0) throw new Error("this model returns no attention weights (was it built with attention: \"none\"?).");
  const output = codec.targetVocab.decode(h.tokens);
  if (h.finished) output.push("[EOS]");
  return { source: codec.sourceVocab.decode(ids), output, weights: h.attention };
}
