// Evaluating a seq2seq model on a data set: decode every source (lib/decode), turn ids back into text with the
// task's codec, and score with the metrics of ./sequence_metrics.ts and ./bleu.ts. One call per table row of
// notebook 05 (and 06): exact match, token accuracy, BLEU or CER, per-example predictions to group and show,
// and the decoding time per sentence.
import { DecodeStrategy, StepDecoder, decodeAll } from "../decode";
import { Seq2SeqCodec } from "../data/seq2seq";
import { corpusBleu } from "./bleu";
import { characterErrorRate, exactMatch, tokenAccuracy, topKAccuracy } from "./sequence_metrics";

/** What evaluation needs of an example (the course's TaskPair has all of it). */
export interface EvalExample {
  source: number[];
  targetText: string;
  sourceText?: string;
  category?: string;
  length?: number;
}

export interface Seq2SeqPrediction {
  source: string;
  /** The gold target as decoding would write it (tokenized, then joined). */
  gold: string;
  predicted: string;
  /** The n-best list as text, best first (beam search), else [predicted]. */
  candidates: string[];
  logProb: number;
  correct: boolean;
  finished: boolean;
  category?: string;
  length?: number;
}

export type Seq2SeqMetric = "exactMatch" | "tokenAccuracy" | "bleu" | "cer" | "top5";
export const SEQ2SEQ_METRICS: readonly Seq2SeqMetric[] = ["exactMatch", "tokenAccuracy", "bleu", "cer", "top5"];

export interface Seq2SeqEvaluation {
  exactMatch: number;
  tokenAccuracy?: number;
  /** Corpus BLEU (sacreBLEU defaults) of the detokenized outputs against the raw target texts. */
  bleu?: number;
  /** Character error rate of the outputs. */
  cer?: number;
  /** The gold target among the first 5 candidates (beam search with nBest ≥ 5). */
  top5?: number;
  /** Mean log p(output | source) of the best hypotheses. */
  meanLogProb: number;
  predictions: Seq2SeqPrediction[];
  seconds: number;
  msPerSentence: number;
}

export interface EvaluateOptions {
  model: StepDecoder;
  codec: Seq2SeqCodec;
  examples: readonly EvalExample[];
  strategy?: DecodeStrategy;
  /** Metrics besides exact match (default ["tokenAccuracy"]). */
  metrics?: Seq2SeqMetric[];
  batchSize?: number;
  maxLength?: number;
  progress?: boolean;
}

/** Decode and score (see the top of this file). Errors: no examples, an unknown metric. */
export async function evaluateSeq2Seq(opts: EvaluateOptions): Promise<Seq2SeqEvaluation> {
  const { model, codec, examples } = opts;
  if (!examples || examples.length === 0) throw new Error("evaluateSeq2Seq needs at least one example.");
  const metrics = opts.metrics ?? ["tokenAccuracy"];
  for (const m of metrics) if (!SEQ2SEQ_METRICS.includes(m)) throw new Error(`metric "${m}" is unknown: use one of ${SEQ2SEQ_METRICS.join(", ")}.`);
  const t0 = Date.now();
  const outs = await decodeAll(model, examples.map((e) => e.source), { strategy: opts.strategy, batchSize: opts.batchSize, maxLength: opts.maxLength, progress: opts.progress });
  const seconds = (Date.now() - t0) / 1000;
  const predictions: Seq2SeqPrediction[] = examples.map((e, i) => {
    const gold = codec.normaliseTarget(e.targetText);
    const candidates = outs[i].map((h) => codec.decodeTarget(h.tokens));
    return {
      source: e.sourceText ?? codec.decodeSource(e.source), gold, predicted: candidates[0], candidates,
      logProb: outs[i][0].logProb, correct: candidates[0] === gold, finished: outs[i][0].finished,
      ...(e.category !== undefined ? { category: e.category } : {}), ...(e.length !== undefined ? { length: e.length } : {}),
    };
  });
  const gold = predictions.map((p) => p.gold);
  const pred = predictions.map((p) => p.predicted);
  const result: Seq2SeqEvaluation = {
    exactMatch: exactMatch(gold, pred),
    meanLogProb: predictions.reduce((s, p) => s + p.logProb, 0) / predictions.length,
    predictions, seconds, msPerSentence: (1000 * seconds) / examples.length,
  };
  if (metrics.includes("tokenAccuracy")) {
    result.tokenAccuracy = tokenAccuracy(examples.map((e) => codec.targetTokens(e.targetText)), outs.map((h) => codec.targetTokensOf(h[0].tokens)));
  }
  if (metrics.includes("bleu")) result.bleu = corpusBleu({ hypotheses: pred, references: examples.map((e) => [e.targetText]) }).score;
  if (metrics.includes("cer")) result.cer = characterErrorRate(gold, pred);
  if (metrics.includes("top5")) result.top5 = topKAccuracy(gold, predictions.map((p) => p.candidates), 5);
  return result;
}

export interface GroupScore {
  group: string | number;
  accuracy: number;
  count: number;
}

/** Exact match per group (a category, a length bucket), in the groups' natural order (numbers ascending). */
export function accuracyBy(predictions: readonly Seq2SeqPrediction[], key: (p: Seq2SeqPrediction) => string | number): GroupScore[] {
  const groups = new Map<string | number, { right: number; count: number }>();
  for (const p of predictions) {
    const g = key(p);
    const s = groups.get(g) ?? { right: 0, count: 0 };
    s.right += p.correct ? 1 : 0;
    s.count++;
    groups.set(g, s);
  }
  return [...groups]
    .map(([group, s]) => ({ group, accuracy: s.right / s.count, count: s.count }))
    .sort((a, b) => (typeof a.group === "number" && typeof b.group === "number" ? a.group - b.group : String(a.group) < String(b.group) ? -1 : 1));
}

/** A length bucket for accuracy-by-length curves: lengths grouped by `width` (e.g. 1–4, 5–8, …). */
export function lengthBucket(length: number, width = 4): string {
  const lo = Math.floor((length - 1) / width) * width + 1;
  return `${lo}–${lo + width - 1}`;
}

/**
 * One score per example, in the data set's order: 1 where the prediction matched the gold target exactly, else 0
 * → `[examples]`. What a paired comparison of two systems on the same examples needs (lib/eval/paired.ts,
 * `checkClaims({ perExample })`). Throws on an evaluation without predictions.
 */
export function exactMatchScores(evaluation: { predictions: readonly { correct: boolean }[] }): number[] {
  if (!evaluation || !Array.isArray(evaluation.predictions) || evaluation.predictions.length === 0) {
    throw new Error("exactMatchScores needs an evaluation with predictions (what evaluateSeq2Seq returns).");
  }
  return evaluation.predictions.map((p) => (p.correct ? 1 : 0));
}
