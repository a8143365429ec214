// The course's three reference models, defined once: `npm run bench` times them against PyTorch
// (bench/torch_ref.py mirrors them layer for layer), and the memory tests train them for 50 steps.
// Each is an ordinary course model at a fixed, documented size — not a bench-only copy.
import { Trainable, TensorBatch } from "../train/model";
import { Rng } from "../random";
import { RnnClassifier } from "./rnn_classifier";
import { CnnClassifier } from "./cnn_classifier";
import { ElectraModel } from "./electra";

export const REFERENCE_VOCAB = 2000;
export type ReferenceName = "lstm" | "conv" | "transformer-mlm";
export const REFERENCE_NAMES: readonly ReferenceName[] = ["lstm", "conv", "transformer-mlm"];

export interface ReferenceModel {
  name: ReferenceName;
  description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model has its own example type
  model: Trainable<any, TensorBatch>;
  /** A batch of random examples of the model's length (the examples, not tensors). */
  batch(size: number, seed?: number): unknown[];
}

const randomIds = (rng: Rng, length: number) => Array.from({ length }, () => 7 + rng.int(REFERENCE_VOCAB - 7));

/** Random length-32 sentences with random labels (timing and memory inputs, not learning data). */
function classifierBatch(size: number, seed = 0): { ids: number[]; label: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: size }, () => ({ ids: randomIds(rng, 32), label: rng.int(2) }));
}

/** Build one reference model (fresh weights, seeded). */
export function referenceModel(name: ReferenceName, seed = 0): ReferenceModel {
  switch (name) {
    case "lstm":
      return {
        name,
        description: "LSTM classifier: embedding 64, hidden 128, length 32, vocab 2000",
        model: new RnnClassifier({ vocabSize: REFERENCE_VOCAB, embedDim: 64, hidden: 128, bidirectional: false, dropout: 0, maxLen: 32, seed }),
        batch: classifierBatch,
      };
    case "conv":
      return {
        name,
        description: "3-layer residual Conv1D classifier: embedding 64 -> width 128, kernel 3, length 32, vocab 2000",
        model: new CnnClassifier({ vocabSize: REFERENCE_VOCAB, embedDim: 64, width: 128, kernel: 3, layers: 3, dropout: 0, maxLen: 32, seed }),
        batch: classifierBatch,
      };
    case "transformer-mlm":
      return {
        name,
        description: "2-layer transformer masked LM: width 128, 4 heads, FFN 512, length 64, vocab 2000 (BERT objective)",
        model: new ElectraModel({ objective: "bert", vocabSize: REFERENCE_VOCAB, width: 128, heads: 4, layers: 2, mlpRatio: 4, maxLen: 64, dropout: 0, seed }),
        // 63 tokens + the [CLS] the model prepends = length 64.
        batch: (size, s = 0) => {
          const rng = new Rng(s);
          return Array.from({ length: size }, () => ({ ids: randomIds(rng, 63) }));
        },
      };
    default:
      throw new Error(`reference model "${name}" is unknown: use one of ${REFERENCE_NAMES.join(", ")}.`);
  }
}
