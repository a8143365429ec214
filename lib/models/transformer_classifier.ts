// A transformer sentence classifier: [CLS] + tokens -> TransformerEncoder -> one vector -> class scores.
//
// Built fresh (lecture 3's classifier) or around an existing encoder — the way a pre-trained model is
// fine-tuned: ELECTRA's discriminator or BERT's encoder gets a new classification head and trains on.
// Pooling: "cls" reads position 0, where collate puts [CLS] (BERT/ELECTRA); "mean" averages the real tokens.
import * as tf from "@tensorflow/tfjs";
import { NormPlacement, PositionScheme, TransformerEncoder } from "../nn/transformer";
import { dropout } from "../nn/layers";
import { CLS_ID } from "../data/vocab";
import { Rng } from "../random";
import { SentenceClassifier, ClassifierHeadOptions, ClassifierBatch, LabelledIds } from "./classifier";

export type Pooling = "cls" | "mean";
export const POOLINGS: readonly Pooling[] = ["cls", "mean"];

export interface TransformerClassifierOptions extends ClassifierHeadOptions {
  /** Fine-tuning: an existing encoder, used as is (its weights keep training). Otherwise one is built. */
  encoder?: TransformerEncoder;
  /** The options below build a fresh encoder (ignored when `encoder` is given). */
  vocabSize?: number;
  width?: number;
  heads?: number;
  layers?: number;
  mlpRatio?: number;
  positions?: PositionScheme;
  /** Encoder dropout (default 0.1); also the dropout on the pooled vector unless headDropout is given. */
  dropout?: number;
  norm?: NormPlacement;
  /** "cls" (default; collate prepends [CLS]) or "mean" over real tokens. */
  pooling?: Pooling;
  /** Dropout on the pooled vector before the head (default: the encoder's dropout). */
  headDropout?: number;
}

/** [CLS] + ids, truncated to maxLen tokens in all (the [CLS] included). */
export function withCls(ids: readonly number[], maxLen: number): number[] {
  return [CLS_ID, ...ids.slice(0, Math.max(0, maxLen - 1))];
}

export class TransformerClassifier extends SentenceClassifier {
  readonly encoder: TransformerEncoder;
  readonly pooling: Pooling;
  readonly headDropout: number;
  private readonly rng: Rng;
  private readonly cfg: Record<string, unknown>;

  constructor(opts: TransformerClassifierOptions) {
    const maxLen = opts.maxLen ?? Math.min(64, opts.encoder?.maxLen ?? 64);
    super({ ...opts, maxLen });
    this.pooling = opts.pooling ?? "cls";
    if (!POOLINGS.includes(this.pooling)) throw new Error(`pooling "${this.pooling}" is unknown: use one of ${POOLINGS.join(", ")}.`);
    const seed = opts.seed ?? 0;
    const rng = new Rng(seed);
    if (opts.encoder) {
      this.encoder = opts.encoder;
      if (this.encoder.maxLen < this.maxLen) {
        throw new Error(`maxLen (${this.maxLen}) exceeds the encoder's position table (${this.encoder.maxLen}): use maxLen <= ${this.encoder.maxLen}.`);
      }
    } else {
      if (opts.vocabSize === undefined) throw new Error("TransformerClassifier needs vocabSize (or an existing encoder to fine-tune).");
      this.encoder = new TransformerEncoder({
        vocabSize: opts.vocabSize, width: opts.width ?? 128, heads: opts.heads ?? 4, layers: opts.layers ?? 2,
        mlpRatio: opts.mlpRatio, maxLen: this.maxLen, positions: opts.positions, dropout: opts.dropout, norm: opts.norm,
        seed: rng.seed(),
      });
    }
    this.addChild("encoder", this.encoder);
    this.headDropout = opts.headDropout ?? opts.dropout ?? this.encoder.dropoutRate;
    if (!(this.headDropout >= 0 && this.headDropout < 1)) throw new Error(`headDropout (${this.headDropout}) must be in [0, 1).`);
    this.addHead(this.encoder.width, rng.seed());
    this.rng = rng.fork();
    const e = this.encoder;
    // Describes the encoder by what it is (also when it came from elsewhere), so checkpoints verify the shape.
    this.cfg = {
      vocabSize: e.vocabSize, width: e.width, layers: e.blocks.length, heads: e.blocks[0]?.attention.heads ?? 0,
      embeddingDim: e.embedding.dim, encoderMaxLen: e.maxLen, norm: e.norm, positions: e.positionScheme,
      dropout: e.dropoutRate, pooling: this.pooling, headDropout: this.headDropout, numClasses: this.numClasses,
      maxLen: this.maxLen, seed,
    };
  }

  /** Build around an existing encoder (fine-tuning a pre-trained model). */
  static fromEncoder(encoder: TransformerEncoder, opts: Omit<TransformerClassifierOptions, "encoder"> = {}): TransformerClassifier {
    return new TransformerClassifier({ ...opts, encoder });
  }

  config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  /** With "cls" pooling every example gets [CLS] in front (and is truncated to maxLen in all). */
  override collate(examples: LabelledIds[]): ClassifierBatch {
    if (this.pooling !== "cls") return super.collate(examples);
    return super.collate(examples.map((e) => ({ ...e, ids: Array.isArray(e.ids) && e.ids.length ? withCls(e.ids, this.maxLen) : e.ids })));
  }

  get stateWidth(): number {
    return this.encoder.width;
  }

  /** The encoder's last layer at every position ([CLS] included when pooling is "cls"): [b, t, width]. */
  tokenStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor3D {
    return this.encoder.apply(ids, { mask01: mask, training }).hidden as tf.Tensor3D;
  }

  /** ids: [b, t] int32, mask: [b, t] -> [b, width] (position 0 for "cls", mean over real tokens for "mean"). */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.tokenStates(ids, mask, training);
      let pooled: tf.Tensor2D;
      if (this.pooling === "cls") {
        pooled = tf.squeeze(tf.slice(h, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      } else {
        const m = mask.expandDims(2);
        pooled = tf.div(tf.sum(tf.mul(h, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tf.Tensor2D;
      }
      return dropout(pooled, this.headDropout, training, this.rng) as tf.Tensor2D;
    });
  }
}
