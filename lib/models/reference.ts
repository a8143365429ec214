// The course's reference models, defined once: `npm run bench` times them against PyTorch (bench/torch_ref.py
// mirrors them layer for layer, under the same names), and the memory tests train each for 50 steps on every
// backend. Each is an ordinary course model at a fixed, documented size — not a bench-only copy.
//
// To add one: an entry in REFERENCE_MODELS below with a description, a
// builder and a batch of random examples, and a model of the same name and size in bench/torch_ref.py's MODELS.
import { Trainable, TensorBatch } from "../train/model";
import { Rng } from "../random";
import { RnnClassifier } from "./rnn_classifier";
import { CnnClassifier } from "./cnn_classifier";
import { ElectraModel } from "./electra";
import { RnnSeq2Seq } from "./seq2seq/rnn_seq2seq";
import { TransformerSeq2Seq } from "./seq2seq/transformer_seq2seq";

export const REFERENCE_VOCAB = 2000;

export interface ReferenceModel {
  name: string;
  description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model has its own example type
  model: Trainable<any, TensorBatch>;
  /** A batch of random examples of the model's length (the examples, not tensors). */
  batch(size: number, seed?: number): unknown[];
}

interface ReferenceSpec {
  description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  build(seed: number): Trainable<any, TensorBatch>;
  batch(size: number, seed?: number): unknown[];
}

/** Random token ids from the ordinary (non-special) part of the reference vocabulary. */
export const randomReferenceIds = (rng: Rng, length: number) => Array.from({ length }, () => 7 + rng.int(REFERENCE_VOCAB - 7));

/** Random length-32 sentences with random labels (timing and memory inputs, not learning data). */
function classifierBatch(size: number, seed = 0): { ids: number[]; label: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: size }, () => ({ ids: randomReferenceIds(rng, 32), label: rng.int(2) }));
}

/**
 * Random length-16 source / length-16 target pairs. Collation adds BOS and EOS (lib/data/seq2seq.ts), so the
 * decoder runs over 17 positions: BOS y1..y16 in, y1..y16 EOS out.
 */
function seq2seqBatch(size: number, seed = 0): { source: number[]; target: number[] }[] {
  const rng = new Rng(seed);
  return Array.from({ length: size }, () => ({ source: randomReferenceIds(rng, 16), target: randomReferenceIds(rng, 16) }));
}

/** name -> how to build it. The order is the bench table's. */
export const REFERENCE_MODELS: Record<string, ReferenceSpec> = {
  lstm: {
    description: "LSTM classifier: embedding 64, hidden 128, length 32, vocab 2000",
    build: (seed) => new RnnClassifier({ vocabSize: REFERENCE_VOCAB, embedDim: 64, hidden: 128, bidirectional: false, dropout: 0, maxLen: 32, seed }),
    batch: classifierBatch,
  },
  conv: {
    description: "3-layer residual Conv1D classifier: embedding 64 -> width 128, kernel 3, length 32, vocab 2000",
    build: (seed) => new CnnClassifier({ vocabSize: REFERENCE_VOCAB, embedDim: 64, width: 128, kernel: 3, layers: 3, dropout: 0, maxLen: 32, seed }),
    batch: classifierBatch,
  },
  "transformer-mlm": {
    description: "2-layer transformer masked LM: width 128, 4 heads, FFN 512, length 64, vocab 2000 (BERT objective)",
    build: (seed) => new ElectraModel({ objective: "bert", vocabSize: REFERENCE_VOCAB, width: 128, heads: 4, layers: 2, mlpRatio: 4, maxLen: 64, dropout: 0, seed }),
    // 63 tokens + the [CLS] the model prepends = length 64.
    batch: (size, s = 0) => {
      const rng = new Rng(s);
      return Array.from({ length: size }, () => ({ ids: randomReferenceIds(rng, 63) }));
    },
  },
  // Lecture 5's RNN encoder-decoder as notebook 05 trains it on its real tasks: bidirectional LSTM encoder, Luong
  // "general" attention, no input feeding (so the decoder runs as one fused sequence, not step by step).
  "rnn-seq2seq": {
    description:
      "LSTM encoder-decoder: embedding 64, bidirectional encoder 128 per direction -> decoder 256, 1 layer, Luong general attention, " +
      "no input feeding, source 16, target 16 (+BOS/EOS), vocab 2000 per side (1,494,992 parameters, the same in PyTorch)",
    build: (seed) => new RnnSeq2Seq({
      sourceVocabSize: REFERENCE_VOCAB, targetVocabSize: REFERENCE_VOCAB, embedDim: 64, hidden: 128, layers: 1, bidirectional: true,
      attention: "general", inputFeeding: false, dropout: 0, maxSourceLen: 16, maxTargetLen: 16, seed,
    }),
    batch: seq2seqBatch,
  },
  // Lecture 5/6's transformer encoder-decoder (T5's first architecture): pre-LN, sinusoidal positions, one
  // embedding shared by both stacks, an untied output layer.
  "transformer-seq2seq": {
    description:
      "transformer encoder-decoder: 2 + 2 layers, width 128, 4 heads, FFN 512, pre-LN, sinusoidal positions, shared embedding, " +
      "source 16, target 16 (+BOS/EOS), vocab 2000 (1,440,208 parameters, the same in PyTorch's nn.Transformer)",
    build: (seed) => new TransformerSeq2Seq({
      architecture: "encoder-decoder", vocabSize: REFERENCE_VOCAB, width: 128, heads: 4, encoderLayers: 2, decoderLayers: 2, mlpRatio: 4,
      norm: "pre", positions: "sinusoidal", dropout: 0, maxSourceLen: 16, maxTargetLen: 16, seed,
    }),
    batch: seq2seqBatch,
  },
};

export type ReferenceName = keyof typeof REFERENCE_MODELS & string;
/** Every reference model's name, in the bench table's order. */
export const REFERENCE_NAMES: readonly string[] = Object.keys(REFERENCE_MODELS);

/** Build one reference model (fresh weights, seeded). */
export function referenceModel(name: string, seed = 0): ReferenceModel {
  const spec = REFERENCE_MODELS[name];
  if (!spec) throw new Error(`reference model "${name}" is unknown: use one of ${REFERENCE_NAMES.join(", ")}.`);
  return { name, description: spec.description, model: spec.build(seed), batch: spec.batch };
}
