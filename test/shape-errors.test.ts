// Bad shapes fail at the library's entry points, with the shapes and the fix, on the backend students get by
// default (native TensorFlow when it is built, whose own message is `Invalid TF_Status: 3 / Message: Matrix
// size-incompatible: In[0]: [2,3], In[1]: [2,3]` and binding frames). Falls back to cpu where tfjs-node is not built.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../lib/engine";
import { Linear, LayerNorm, Embedding } from "../lib/nn/layers";
import { ConvBlock, windowMatmul } from "../lib/nn/conv";
import { MultiHeadAttention, causalMask, combineMasks, paddingMask } from "../lib/nn/attention";
import { TransformerDecoder, TransformerEncoder } from "../lib/nn/transformer";
import { classificationLoss, maskedSequenceLoss } from "../lib/train/losses";
import { CnnClassifier } from "../lib/models/cnn_classifier";
import { TokenTagger } from "../lib/models/token_tagger";
import { copyMixtureLoss, discriminatorLoss } from "../lib/models/electra_heads";

let backend = "cpu";
before(async () => {
  try {
    backend = (await useBackend("node")).backend;
  } catch {
    await useBackend("cpu");
  }
});

/** fn must throw OUR message: it matches `want` and carries nothing of the backend's own error. */
function ours(fn: () => unknown, want: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, want);
    assert.doesNotMatch(e.message, /TF_Status|Incompatible shapes|size-incompatible|Error in matMul|Operands could not be broadcast/);
    return true;
  });
}

test("nn: Linear, LayerNorm, Embedding, windowMatmul, ConvBlock name the shapes", () => {
  tf.tidy(() => {
    assert.ok(["node", "cpu"].includes(backend));
    // The case: a [2, 3] input into a layer that reads width 2 (a bare tf.matMul gives TF_Status on node).
    ours(() => new Linear({ inDim: 2, outDim: 3 }).apply(tf.ones([2, 3])), /Linear expected last dimension 2, got input of shape \[2,3\]/);
    ours(() => new LayerNorm(4).apply(tf.ones([2, 3, 5])), /LayerNorm expected last dimension 4, got input of shape \[2, 3, 5\]/);
    ours(() => new Embedding({ vocabSize: 5, dim: 2 }).apply(tf.ones([2, 2], "float32")), /Embedding ids must be int32/);
    ours(() => windowMatmul(tf.ones([2, 5, 3]) as tf.Tensor3D, tf.ones([3, 4, 4]) as tf.Tensor3D),
      /windowMatmul: x has shape \[2, 5, 3\]; it must be \[b, t, width\] = \[b, t, 4\] \(width from filters \[3, 4, 4\]\)/);
    const conv = new ConvBlock({ width: 4 });
    ours(() => conv.apply(tf.ones([2, 5, 3]) as tf.Tensor3D, tf.ones([2, 5]) as tf.Tensor2D, false), /ConvBlock: x has shape \[2, 5, 3\]; it must be \[batch, time, 4\]/);
    ours(() => conv.apply(tf.ones([2, 5, 4]) as tf.Tensor3D, tf.ones([2, 6]) as tf.Tensor2D, false),
      /ConvBlock: mask has shape \[2, 6\]; it must be \[batch, time\] = \[2, 5\] \(batch and time from x \[2, 5, 4\]\)\. mask holds 1 per real token/);
    conv.dispose();
  });
});

test("attention and transformer stacks: masks and contexts that do not fit are named", () => {
  tf.tidy(() => {
    ours(() => combineMasks(paddingMask([[1, 1, 1, 0, 0]]), causalMask(4)), /combineMasks: masks of shapes \[1, 1, 1, 5\] and \[1, 1, 4, 4\] do not broadcast together/);
    const mha = new MultiHeadAttention({ width: 8, heads: 2 });
    ours(() => mha.apply(tf.ones([2, 3, 6])), /MultiHeadAttention input x must be \[batch, time, 8\], got \[2,3,6\]/);
    ours(() => mha.apply(tf.ones([2, 3, 8]), { mask: causalMask(5) }), /attention mask of shape \[1,1,5,5\] does not broadcast to scores \[2,2,3,3\]/);
    const dec = new TransformerDecoder({ vocabSize: 10, width: 8, heads: 2, layers: 1, maxLen: 8 });
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    ours(() => dec.apply(ids, { context: tf.ones([1, 4, 6]) }), /TransformerDecoder: context has shape \[1, 4, 6\]; it must be \[batch, s, 8\]/);
    ours(() => dec.apply(ids, { context: tf.ones([1, 4, 8]), contextMask01: tf.ones([1, 5]) }),
      /TransformerDecoder: contextMask01 has shape \[1, 5\]; it must be \[batch, s\] = \[1, 4\]/);
    const enc = new TransformerEncoder({ vocabSize: 10, width: 8, heads: 2, layers: 1, maxLen: 8 });
    ours(() => enc.apply(ids, { mask01: tf.ones([1, 4]) }), /mask01 must have the shape of the ids \[1,3\], got \[1,4\]/);
    ours(() => enc.apply(tf.tensor2d([[1, 2, 30]], [1, 3], "int32")), /Embedding: token id 30 at \[0, 2\] is outside 0\.\.9/);
    [mha, dec, enc].forEach((m) => m.dispose());
  });
});

test("models and losses: batches and targets that do not fit are named", () => {
  tf.tidy(() => {
    const cnn = new CnnClassifier({ vocabSize: 10, embedDim: 4, width: 4, layers: 1 });
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32") as tf.Tensor2D;
    ours(() => cnn.logits({ ids, mask: tf.ones([1, 4]) as tf.Tensor2D, labels: tf.tensor1d([0], "int32") }, false),
      /CnnClassifier\.logits: mask has shape \[1, 4\]; it must be \[batch, time\] = \[1, 3\]/);
    ours(() => cnn.loss({ ids, mask: tf.ones([1, 3]) as tf.Tensor2D, labels: tf.tensor1d([0, 1], "int32") }, false),
      /classificationLoss: labels has shape \[2\]; it must be \[n\] = \[1\]/);
    const tagger = new TokenTagger({ inputDim: 3, width: 4, heads: 2, layers: 1 });
    ours(() => tagger.forward({ features: tf.ones([1, 2, 5]) as tf.Tensor3D, mask: tf.ones([1, 2]) as tf.Tensor2D }),
      /TokenTagger: features has shape \[1, 2, 5\]; it must be \[batch, t, 3\]/);
    ours(() => maskedSequenceLoss(tf.ones([2, 3, 4]) as tf.Tensor3D, tf.zeros([2, 4], "int32") as tf.Tensor2D, tf.ones([2, 3]) as tf.Tensor2D),
      /maskedSequenceLoss: targets has shape \[2, 4\]; it must be \[b, t\] = \[2, 3\]/);
    ours(() => classificationLoss(tf.ones([2, 3]) as tf.Tensor2D, tf.tensor1d([0, 1, 2], "int32")), /labels has shape \[3\]; it must be \[n\] = \[2\]/);
    ours(() => discriminatorLoss(tf.ones([2, 3]), tf.ones([2, 4]), tf.ones([2, 3])), /discriminatorLoss: labels has shape \[2, 4\]; it must be \[d0, d1\] = \[2, 3\]/);
    ours(() => copyMixtureLoss(tf.ones([2, 5]) as tf.Tensor2D, tf.ones([3]) as tf.Tensor1D, tf.zeros([2], "int32") as tf.Tensor1D, tf.zeros([2], "int32") as tf.Tensor1D),
      /copyMixtureLoss: copyLogits has shape \[3\]; it must be \[n\] = \[2\]/);
    [cnn, tagger].forEach((m) => m.dispose());
  });
});
