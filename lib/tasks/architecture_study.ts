// T5's architecture comparison (Raffel et al. 2020, §3.2.2 and Table 2) at course scale: the three architectures of
// lib/models/seq2seq trained on one task for the same steps, compared at equal parameters and at equal compute.
//
// With L layers per stack: an encoder-decoder of L + L layers costs about what an L-layer decoder-only model or
// prefix LM costs per example (each token passes through L blocks either way), but has about twice the block
// parameters; an encoder-decoder of L/2 + L/2 has about their parameters at half the compute. T5 reports both
// (Table 2: encoder-decoder 83.28, its L/2 + L/2 version 80.88, prefix LM 81.82, decoder-only LM 74.70 GLUE, all
// with a denoising objective). Every number the study reports is counted or measured: parameters by the model,
// FLOPs by lib/models/flops.ts for this task's mean lengths, milliseconds per step by the Trainer.
import { TrainerOptions } from "../train/trainer";
import { TransformerSeq2Seq, TransformerSeq2SeqOptions } from "../models/seq2seq/transformer_seq2seq";
import { Seq2SeqArchitecture } from "../models/seq2seq/architectures";
import { evaluateSeq2Seq, Seq2SeqEvaluation } from "../eval/seq2seq_eval";
import { throwIfInterrupted } from "../interrupt";
import { TaskPair } from "./seq2seq_task";
import { TextToTextTask } from "./text_to_text";
import { trainTransformerSeq2Seq } from "./seq2seq_runs";

export interface ArchitectureConfig {
  /** Row label, e.g. "encoder-decoder, 2 + 2 layers". */
  label: string;
  architecture: Seq2SeqArchitecture;
  /** Layers of the single stack, or of each stack of the encoder-decoder. */
  layers: number;
  /** T5 Table 2's GLUE average for this row (denoising objective), for the table. */
  paper?: number;
}

/**
 * The T5 rows for a depth L: encoder-decoder L + L (equal compute), encoder-decoder L/2 + L/2 (equal
 * parameters), decoder-only L, prefix LM L. L must be even.
 */
export function t5Configs(layers: number): ArchitectureConfig[] {
  if (!Number.isInteger(layers) || layers < 2 || layers % 2) throw new Error(`t5Configs: layers (${layers}) must be an even integer >= 2 (the half-depth encoder-decoder has layers / 2 per stack).`);
  const h = layers / 2;
  return [
    { label: `encoder-decoder, ${layers} + ${layers} layers`, architecture: "encoder-decoder", layers, paper: 83.28 },
    { label: `encoder-decoder, ${h} + ${h} layers`, architecture: "encoder-decoder", layers: h, paper: 80.88 },
    { label: `prefix LM, ${layers} layers`, architecture: "prefix-lm", layers, paper: 81.82 },
    { label: `decoder-only LM, ${layers} layers`, architecture: "decoder-only", layers, paper: 74.7 },
  ];
}

export interface ArchitectureStudyOptions {
  /** A task with one vocabulary (sharedVocabularyTask); `extra.gen` is scored too when present (COGS). */
  task: TextToTextTask;
  configs: ArchitectureConfig[];
  model: Omit<TransformerSeq2SeqOptions, "vocabSize" | "architecture" | "layers" | "encoderLayers" | "decoderLayers">;
  trainer: TrainerOptions<TaskPair>;
  /** Checkpoint name prefix (default "t5-arch"). */
  name?: string;
}

export interface ArchitectureRun {
  config: ArchitectureConfig;
  parameters: number;
  /** Training FLOPs per step at the task's mean source and target lengths. */
  flopsPerStep: number;
  losses: number[];
  msPerStep: number;
  test: Seq2SeqEvaluation;
  /** The generalization set (COGS), when the task has one. */
  gen?: Seq2SeqEvaluation;
  /** The trained model (the caller disposes it). */
  model: TransformerSeq2Seq;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Train every configuration on the task (cached) and score it: greedy decoding, exact match. */
export async function runArchitectureStudy(opts: ArchitectureStudyOptions): Promise<ArchitectureRun[]> {
  const { task } = opts;
  const gen = task.extra.gen;
  const S = mean(task.train.map((p) => p.source.length));
  const T = mean(task.train.map((p) => p.target.length)) + 1;
  // Generation stops at EOS; an untrained model never says it, so cap decoding a little beyond the longest gold
  // (and at what absolute positions allow).
  const longest = Math.max(...[...task.test, ...(gen ?? [])].map((p) => p.target.length));
  const runs: ArchitectureRun[] = [];
  for (const config of opts.configs) {
    throwIfInterrupted("the architecture study");
    const slug = config.label.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    const r = await trainTransformerSeq2Seq({ name: `${opts.name ?? "t5-arch"}-${slug}`, task, model: { ...opts.model, architecture: config.architecture, layers: config.layers }, trainer: opts.trainer });
    const score = (examples: TaskPair[]) => evaluateSeq2Seq({ model: r.model, codec: task.codec, examples, batchSize: 100, maxLength: Math.min(longest + 10, r.model.maxDecodeLength ?? Infinity) });
    runs.push({
      config, parameters: r.model.paramCount(), flopsPerStep: r.model.trainingFlops({ sourceLength: S, targetLength: T, batchSize: opts.trainer.batchSize ?? 32 }),
      losses: r.losses, msPerStep: r.msPerStep, test: await score(task.test), ...(gen ? { gen: await score(gen) } : {}), model: r.model,
    });
  }
  return runs;
}
