// The LSTM as single native TensorFlow ops, wired into tfjs's autodiff with tf.customGrad.
//
// A tfjs LSTM step is a dozen small ops forward and two or three dozen backward; on the native backend each one
// crosses into TensorFlow separately, and that overhead, not arithmetic, was 90% of an LSTM training step.
// TensorFlow ships the whole cell as one kernel, forward and backward:
//   BlockLSTMV2 / BlockLSTMGradV2      every time step in one call (the encoder)
//   LSTMBlockCell / LSTMBlockCellGrad  one step (a decoder whose next input depends on its last output)
// Same math as lib/nn/rnn.ts (standard sigmoid gates; checked by test/rnn-fused.test.ts): no peepholes, no cell
// clipping (cell_clip ≤ 0), no forget bias added inside the op (forget_bias = 0; the course's bias already
// holds its 1). BlockLSTMV2 takes PyTorch's gate order (i, f, g, o); LSTMBlockCell wants (i, g, f, o).
//
// Parameters arrive in the course's layout: wIh [in, 4H], wHh [H, 4H], bIh, bHh [4H]; TensorFlow's w is the two
// stacked, [in + H, 4H], and its b their sum. Gradients come back split the same way.
import * as tf from "@tensorflow/tfjs";
import { Int64Scalar, boolAttr, floatAttr, fusedOp, runNativeOp, typeAttr } from "./native";

const LSTM_ATTRS = [typeAttr("T"), boolAttr("use_peephole", false), floatAttr("cell_clip", 0)];

/**
 * The whole sequence in one BlockLSTMV2. x: [T, B, in], h0, c0: [B, H] -> h, c: [T, B, H] (the state after every
 * step). Differentiable in every input.
 */
export function nativeLstmSequence(
  x: tf.Tensor3D, h0: tf.Tensor2D, c0: tf.Tensor2D,
  wIh: tf.Tensor2D, wHh: tf.Tensor2D, bIh: tf.Tensor1D, bHh: tf.Tensor1D,
): { h: tf.Tensor3D; c: tf.Tensor3D } {
  const [T, B] = x.shape;
  const H = h0.shape[1];
  const inDim = x.shape[2];
  // One value per customGrad: h and c stacked on the time axis, [2T, B, H].
  const op = fusedOp("FusedLstmSequence", ([x_, h0_, c0_, wIh_, wHh_, bIh_, bHh_], save) => {
    const w = tf.concat([wIh_, wHh_], 0);
    const b = tf.add(bIh_, bHh_);
    const peep = tf.zeros([H]);
    const [i, cs, f, o, ci, co, h] = runNativeOp("BlockLSTMV2", [new Int64Scalar(T), x_, c0_, h0_, w, peep, peep, peep, b], LSTM_ATTRS, 7);
    save([x_, h0_, c0_, w, b, i, cs, f, o, ci, co, h]);
    return {
      value: tf.concat([h, cs], 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sh0, sc0, sw, sb, ...acts] = saved;
        const peepZ = tf.zeros([H]);
        const hGrad = dy.slice([0, 0, 0], [T, B, H]);
        const csGrad = dy.slice([T, 0, 0], [T, B, H]);
        const [dx, dc0, dh0, dw, , , , db] = runNativeOp(
          "BlockLSTMGradV2",
          [new Int64Scalar(T), sx, sc0, sh0, sw, peepZ, peepZ, peepZ, sb, ...acts, csGrad, hGrad],
          [typeAttr("T"), boolAttr("use_peephole", false)],
          8,
        );
        // Both biases get the same gradient; a separate tensor each, as the tape disposes one when it accumulates.
        return [dx, dh0, dc0, dw.slice([0, 0], [inDim, 4 * H]), dw.slice([inDim, 0], [H, 4 * H]), db, db.clone()];
      },
    };
  });
  return tf.tidy(() => {
    const hc = op(x, h0, c0, wIh, wHh, bIh, bHh) as tf.Tensor3D;
    return { h: hc.slice([0, 0, 0], [T, B, H]), c: hc.slice([T, 0, 0], [T, B, H]) };
  });
}

/** Columns of the (i, f, g, o) layout in LSTMBlockCell's (i, g, f, o) order; swapping two blocks is its own inverse. */
const swapCache = new Map<number, Int32Array>();
function gateSwap(H: number): Int32Array {
  let idx = swapCache.get(H);
  if (!idx) {
    idx = new Int32Array(4 * H);
    const order = [0, 2, 1, 3];
    for (let k = 0; k < 4; k++) for (let j = 0; j < H; j++) idx[k * H + j] = order[k] * H + j;
    swapCache.set(H, idx);
  }
  return idx;
}

/**
 * LSTMBlockCell's weights (w in its gate order, b, zero peepholes), kept from one step to the next while the
 * parameters are unchanged: a decoder calls the cell once per output token with the same weights, so they are
 * rearranged once per training step instead of once per token. A parameter's data changes identity when an
 * optimiser assigns it, which is what invalidates the entry. Owned (and disposed) by the cell that uses it.
 */
export class BlockCellWeights {
  private key: object[] = [];
  private held: { w: tf.Tensor2D; b: tf.Tensor1D; wIfgo: tf.Tensor2D; swap: tf.Tensor1D; peep: tf.Tensor1D } | null = null;

  get(wIh: tf.Tensor2D, wHh: tf.Tensor2D, bIh: tf.Tensor1D, bHh: tf.Tensor1D) {
    const key = [wIh.dataId, wHh.dataId, bIh.dataId, bHh.dataId];
    if (!this.held || key.some((k, i) => k !== this.key[i])) {
      this.dispose();
      const H = wHh.shape[0];
      const held = tf.tidy(() => {
        const swap = tf.tensor1d(gateSwap(H), "int32");
        const wIfgo = tf.concat([wIh, wHh], 0) as tf.Tensor2D;
        return { w: tf.gather(wIfgo, swap, 1) as tf.Tensor2D, b: tf.gather(tf.add(bIh, bHh), swap) as tf.Tensor1D, wIfgo, swap, peep: tf.zeros([H]) as tf.Tensor1D };
      });
      Object.values(held).forEach((t) => tf.keep(t));
      this.held = held;
      this.key = key;
    }
    return this.held;
  }

  dispose(): void {
    if (this.held) tf.dispose(Object.values(this.held));
    this.held = null;
    this.key = [];
  }
}

/**
 * One step in one LSTMBlockCell. x: [B, in], h, c: [B, H] -> h', c': [B, H]. Differentiable in every input.
 * `weights` keeps the rearranged parameters between calls (see BlockCellWeights).
 */
export function nativeLstmStep(
  x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D,
  wIh: tf.Tensor2D, wHh: tf.Tensor2D, bIh: tf.Tensor1D, bHh: tf.Tensor1D,
  weights: BlockCellWeights,
): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const B = x.shape[0];
  const H = h.shape[1];
  const inDim = x.shape[1];
  const op = fusedOp("FusedLstmCell", ([x_, h_, c_, wIh_, wHh_, bIh_, bHh_], save) => {
    const { w, b, wIfgo, swap, peep } = weights.get(wIh_ as tf.Tensor2D, wHh_ as tf.Tensor2D, bIh_ as tf.Tensor1D, bHh_ as tf.Tensor1D);
    const [i, cs, f, o, ci, co, hOut] = runNativeOp(
      "LSTMBlockCell",
      [x_, c_, h_, w, peep, peep, peep, b],
      [typeAttr("T"), floatAttr("forget_bias", 0), floatAttr("cell_clip", 0), boolAttr("use_peephole", false)],
      7,
    );
    save([x_, h_, c_, w, b, wIfgo, swap, i, cs, f, o, ci, co]);
    return {
      value: tf.concat([hOut, cs], 0), // [2B, H]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sh, sc, sw, sb, sWifgo, sSwap, ...acts] = saved;
        const peepZ = tf.zeros([H]);
        const hGrad = dy.slice([0, 0], [B, H]);
        const csGrad = dy.slice([B, 0], [B, H]);
        const [dc, dIgfo] = runNativeOp(
          "LSTMBlockCellGrad",
          [sx, sc, sh, sw, peepZ, peepZ, peepZ, sb, ...acts, csGrad, hGrad],
          [typeAttr("T"), boolAttr("use_peephole", false)],
          5,
        );
        const dGates = tf.gather(dIgfo, sSwap as tf.Tensor1D, 1) as tf.Tensor2D; // back to (i, f, g, o)
        const dxh = tf.matMul(dGates, sWifgo as tf.Tensor2D, false, true); // [B, in + H]
        const dw = tf.matMul(tf.concat([sx as tf.Tensor2D, sh as tf.Tensor2D], 1), dGates, true, false); // [in + H, 4H]
        const db = tf.sum(dGates, 0);
        return [
          dxh.slice([0, 0], [B, inDim]), dxh.slice([0, inDim], [B, H]), dc,
          dw.slice([0, 0], [inDim, 4 * H]), dw.slice([inDim, 0], [H, 4 * H]), db, db.clone(),
        ];
      },
    };
  });
  return tf.tidy(() => {
    const hc = op(x, h, c, wIh, wHh, bIh, bHh) as tf.Tensor2D;
    return { h: hc.slice([0, 0], [B, H]), c: hc.slice([B, 0], [B, H]) };
  });
}
