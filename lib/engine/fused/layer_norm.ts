// Layer normalisation (Ba, Kiros & Hinton 2016) with its gradient written out, instead of left to autodiff.
//
// Forward, over the last axis of x (width D):
//   μ = mean(x)   σ² = mean((x − μ)²)   r = 1/√(σ² + ε)   x̂ = (x − μ)·r   y = γ·x̂ + β
// Autodiff differentiates each of those ops separately (moments, broadcasts, rsqrt, and a sum for every
// broadcast input): about 35 small ops per layer norm backward. Written out, with g = γ·dy:
//   dx = r · (g − mean(g) − x̂ · mean(g·x̂))        (the means over the last axis)
//   dγ = Σ_rows dy·x̂        dβ = Σ_rows dy          (sums over every leading axis)
// which is ten ops. A transformer step has one layer norm per sublayer, so this is one of the larger cuts in its
// kernel count. Same values as lib/nn/layers.ts's plain formula up to float rounding (test/layer-norm.test.ts).
import * as tf from "@tensorflow/tfjs";
import { fusedOp } from "./native";

/**
 * y = γ·(x − μ)/√(σ² + ε) + β over the last axis. x: [..., D], gamma, beta: [D] -> [..., D]; differentiable in all
 * three. The caller checks the shapes (LayerNorm.apply).
 */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const d = x.shape[x.rank - 1];
  const rows = x.size / d;
  const op = fusedOp("FusedLayerNorm", ([x_, g_, b_], save) => {
    const mu = tf.mean(x_, -1, true);
    const centred = tf.sub(x_, mu);
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    const xhat = tf.mul(centred, r);
    save([xhat, r, g_]);
    return {
      value: tf.add(tf.mul(xhat, g_), b_),
      gradFunc: (dy, [sx, sr, sg]) => {
        const g = tf.mul(dy, sg);
        const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sx, tf.mean(tf.mul(g, sx), -1, true)));
        const dy2 = tf.reshape(dy, [rows, d]);
        return [tf.mul(inner, sr), tf.sum(tf.mul(dy2, tf.reshape(sx, [rows, d])), 0), tf.sum(dy2, 0)];
      },
    };
  });
  return op(x, gamma, beta);
}
