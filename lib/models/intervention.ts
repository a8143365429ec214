// Interchange interventions: run a model on a *base* sentence, but with one layer's states at some positions
// replaced by the states that the same layer computed on a *source* sentence, and read the output. The output
// answers a counterfactual question — "what would the model say if this part of its computation had seen the
// source?" — and a student that matches its teacher's answers mimics the teacher's causal structure, not only
// its input-output function (Geiger et al. 2021, "Causal abstractions of neural networks"; Wu, Geiger et al.
// 2022, "Causal distillation for language models", the interchange intervention training objective DIITO).
//
// A model takes part when it exposes its layers (LayeredClassifier: the course's CnnClassifier does): every
// layer's token states, an optional intervention at one of them, and its pooling + head. Both intervened runs
// happen inside one batch: the source of example i is another example of the same batch (interchangePairs).
import * as tf from "@tensorflow/tfjs";
import { SentenceClassifier } from "./classifier";
import { Rng } from "../random";

/** Replace layer `layer`'s token states h [b, t, w] by replace(h) before the layers above read them. */
export interface Intervention {
  /** 0 = the input to the first layer (embeddings), l = the output of layer l. */
  layer: number;
  replace: (h: tf.Tensor3D) => tf.Tensor3D;
}

/** Errors: a layer that is not an integer in 0..numLayers. */
export function checkIntervention(iv: Intervention | undefined, numLayers: number): void {
  if (iv && !(Number.isInteger(iv.layer) && iv.layer >= 0 && iv.layer <= numLayers)) {
    throw new Error(`intervention layer ${iv.layer} does not exist: use 0 (embeddings) .. ${numLayers} (the last layer).`);
  }
}

/** A sentence classifier whose layers can be read one by one and intervened on (CnnClassifier is one). */
export interface LayeredClassifier extends SentenceClassifier {
  readonly numLayers: number;
  /** [layer 0 (input to layer 1) [b, t, w], layer 1, ..., layer numLayers], with the intervention applied. */
  layerStates(ids: tf.Tensor2D, mask: tf.Tensor2D, training: boolean, intervention?: Intervention): tf.Tensor3D[];
  /** The model's pooling over real tokens: states [b, t, w], mask [b, t] -> [b, w]. */
  pool(states: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D;
}

/** The model as a LayeredClassifier, or an error naming what it lacks and the model that has it. */
export function asLayered(model: SentenceClassifier, role: string): LayeredClassifier {
  const m = model as unknown as Partial<Pick<LayeredClassifier, "layerStates" | "pool" | "numLayers">>;
  if (typeof m.layerStates !== "function" || typeof m.pool !== "function" || typeof m.numLayers !== "number") {
    throw new Error(`${role} (${model.constructor.name}) does not expose its layers (layerStates, pool, numLayers): use a CnnClassifier, or add those three methods to the model.`);
  }
  return model as unknown as LayeredClassifier;
}

/** The classifier's output computed from its last layer's states: top [b, t, w], mask [b, t] -> logits [b, k]. */
export function logitsFromTop(model: LayeredClassifier, top: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => model.classify(model.pool(top, mask)));
}

/**
 * The interchange itself: base [b, t, w], source [b, t, w], positions [b, t] (1 = take the source's state, 0 =
 * keep the base's) -> base·(1 − m) + source·m. Errors: shapes that differ.
 */
export function interchange(base: tf.Tensor3D, source: tf.Tensor3D, positions: tf.Tensor2D): tf.Tensor3D {
  if (base.shape.join() !== source.shape.join() || positions.shape.join() !== base.shape.slice(0, 2).join()) {
    throw new Error(`interchange: base [${base.shape}], source [${source.shape}] and positions [${positions.shape}] must be [b, t, w], [b, t, w] and [b, t].`);
  }
  return tf.tidy(() => {
    const m = positions.toFloat().expandDims(2);
    return tf.add(tf.mul(base, tf.sub(1, m)), tf.mul(source, m)) as tf.Tensor3D;
  });
}

/** Which example is whose source, and where: source[i] is an index into the batch, positions[i] token indices. */
export interface InterchangePairs {
  source: number[];
  positions: number[][];
}

/**
 * Random interchange pairs for a batch (DIITO samples a source sentence and a set of aligned token positions per
 * base): example i takes its states from another example source[i] ≠ i, at each position real in both sentences
 * with probability `fraction` (at least one position). lengths: real tokens per example (after truncation).
 * Errors: fewer than two examples; a fraction outside (0, 1].
 */
export function interchangePairs(o: { lengths: number[]; fraction?: number; rng: Rng }): InterchangePairs {
  const fraction = o.fraction ?? 0.3;
  const b = o.lengths.length;
  if (b < 2) throw new Error(`interchange pairs need at least two examples in a batch (got ${b}): use batchSize >= 2.`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`fraction (${fraction}) must be in (0, 1]: the share of shared positions that are swapped.`);
  const source = o.lengths.map((_, i) => (i + 1 + o.rng.int(b - 1)) % b);
  const positions = o.lengths.map((len, i) => {
    const shared = Math.min(len, o.lengths[source[i]]);
    const chosen = Array.from({ length: shared }, (_, p) => p).filter(() => o.rng.next() < fraction);
    return chosen.length > 0 ? chosen : [o.rng.int(shared)];
  });
  return { source, positions };
}

/** The pairs as tensors for a batch padded to `time` steps: source [b] int32, positions [b, time] 0/1. */
export function pairTensors(pairs: InterchangePairs, time: number): { source: tf.Tensor1D; positions: tf.Tensor2D } {
  const m = new Float32Array(pairs.source.length * time);
  pairs.positions.forEach((ps, i) => ps.forEach((p) => {
    if (p >= time) throw new Error(`interchange position ${p} is beyond the batch's ${time} time steps.`);
    m[i * time + p] = 1;
  }));
  return { source: tf.tensor1d(pairs.source, "int32"), positions: tf.tensor2d(m, [pairs.source.length, time]) };
}

export interface IntervenedLogitsOptions {
  ids: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** The layer intervened on (see Intervention.layer). */
  layer: number;
  /** [b] int32: the batch row whose states example i receives. */
  source: tf.Tensor1D;
  /** [b, t] 0/1: where. */
  positions: tf.Tensor2D;
  training: boolean;
}

/**
 * The model's output on each base example with layer `layer`'s states at `positions` taken from its source
 * example's run: ids, mask [b, t] -> logits [b, k]. Two forward passes (the sources', then the intervened
 * bases'); gradients flow through both into the model.
 */
export function intervenedLogits(model: LayeredClassifier, o: IntervenedLogitsOptions): tf.Tensor2D {
  checkIntervention({ layer: o.layer, replace: (h) => h }, model.numLayers);
  return tf.tidy(() => {
    const sourceStates = tf.gather(model.layerStates(o.ids, o.mask, o.training)[o.layer], o.source) as tf.Tensor3D;
    const replace = (h: tf.Tensor3D) => interchange(h, sourceStates, o.positions);
    const states = model.layerStates(o.ids, o.mask, o.training, { layer: o.layer, replace });
    return logitsFromTop(model, states[states.length - 1], o.mask);
  });
}
