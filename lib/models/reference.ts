// The course's reference models, defined once: `npm run bench` times them against PyTorch (bench/torch_ref.py
// mirrors them layer for layer, under the same names), and the memory tests train each for 50 steps on every
// backend. Each is an ordinary course model at a fixed, documented size — not a bench-only copy.
//
// To add one (e.g. lecture 5's seq2seq models): an entry in REFERENCE_MODELS below with a description, a
// builder and a batch of random examples, and a model of the same name and size in bench/torch_ref.py's MODELS.
import { Trainable, TensorBatch } from "../train/model";
import { Rng } from "../random";
import { RnnClassifier } from "./rnn_classifier";
import { CnnClassifier } from "./cnn_classifier";
import { ElectraModel } from "./electra";

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
