// PyTorch's GRU recurrence on native TensorFlow, as ordinary ops with a hand-written backward pass.
//
// TensorFlow has no fused kernel for this GRU (its GRUBlockCell applies the reset gate before the recurrent
// product, a different cell), so the native backend runs the steps as tfjs ops. What can still be saved is
// autodiff's backward pass: two to three dozen kernels per step, for what gru_js.ts writes as a few lines. Here
// every factor that does not depend on the step's incoming gradient is computed for all steps at once, leaving
// seven small kernels per step backward; the weight gradients are one matmul and one sum afterwards.
// Same equations as gru_js.ts (and lib/nn/rnn.ts), gx = x·W_ih + b_ih for all steps, gh_t = h_{t−1}·W_hh + b_hh:
//   forward   r, z = σ(gx_r + gh_r), σ(gx_z + gh_z);  n = tanh(gx_n + r∘gh_n);  h_t = n + z∘(h_{t−1} − n)
//   backward  dn = dh∘(1 − z)(1 − n²);  dz = dh∘(h_{t−1} − n)z(1 − z);  dr = dn∘gh_n∘r(1 − r)
//             d gx = (dr, dz, dn);  d gh = (dr, dz, dn∘r);  dh_{t−1} = dh∘z + d gh·W_hhᵀ
import * as tf from "@tensorflow/tfjs";
import { fusedOp } from "./native";

const steps = (t: tf.Tensor): tf.Tensor2D[] => (t.shape[0] === 1 ? [t.squeeze([0]) as tf.Tensor2D] : (tf.unstack(t) as tf.Tensor2D[]));
const stackSteps = (xs: tf.Tensor[]): tf.Tensor3D => (xs.length === 1 ? xs[0].expandDims(0) : tf.stack(xs)) as tf.Tensor3D;

/**
 * The GRU recurrence from precomputed input gates, as tfjs ops with a hand-written gradient. gx: [T, B, 3H] =
 * x·W_ih + b_ih (order r, z, n), wHh: [H, 3H], bHh: [3H], h0: [B, H] -> h: [T, B, H].
 */
export function opsGruRecurrence(gx: tf.Tensor3D, wHh: tf.Tensor2D, bHh: tf.Tensor1D, h0: tf.Tensor2D): tf.Tensor3D {
  const [T, B, G] = gx.shape;
  const H = G / 3;
  const op = fusedOp("GruRecurrenceOps", ([gx_, w_, b_, h0_], save) => {
    const gxRz = steps(gx_.slice([0, 0, 0], [T, B, 2 * H]));
    const gxN = steps(gx_.slice([0, 0, 2 * H], [T, B, H]));
    const hs: tf.Tensor2D[] = [];
    const rzs: tf.Tensor[] = [];
    const ghns: tf.Tensor[] = [];
    const ns: tf.Tensor[] = [];
    let h = h0_ as tf.Tensor2D;
    for (let t = 0; t < T; t++) {
      const gh = tf.fused.matMul({ a: h, b: w_ as tf.Tensor2D, bias: b_ });
      const rz = tf.sigmoid(tf.add(gxRz[t], gh.slice([0, 0], [B, 2 * H])));
      const ghn = gh.slice([0, 2 * H], [B, H]);
      const n = tf.tanh(tf.add(gxN[t], tf.mul(rz.slice([0, 0], [B, H]), ghn)));
      h = tf.add(n, tf.mul(rz.slice([0, H], [B, H]), tf.sub(h, n))) as tf.Tensor2D;
      hs.push(h);
      rzs.push(rz);
      ghns.push(ghn);
      ns.push(n);
    }
    const hsAll = stackSteps(hs);
    save([w_, h0_, hsAll, stackSteps(rzs), stackSteps(ghns), stackSteps(ns)]);
    return {
      value: hsAll,
      gradFunc: (dy, [sw, sh0, shs, srz, sghn, sns]) => {
        const hPrev = T === 1 ? sh0.expandDims(0) : tf.concat([sh0.expandDims(0), shs.slice([0, 0, 0], [T - 1, B, H])], 0);
        const r = srz.slice([0, 0, 0], [T, B, H]);
        const z = srz.slice([0, 0, H], [T, B, H]);
        // Everything but the incoming gradient, for all steps at once.
        const aN = tf.mul(tf.sub(1, z), tf.sub(1, tf.square(sns))); // dn = dh∘aN
        const aZ = tf.mul(tf.sub(hPrev, sns), tf.mul(z, tf.sub(1, z))); // dz = dh∘aZ
        const aR = tf.mul(sghn, tf.mul(r, tf.sub(1, r))); // dr = dn∘aR
        const [dys, aNs, aZs, aRs, rs, zs] = [dy, aN, aZ, aR, r, z].map(steps);
        const wT = tf.transpose(sw);
        const dGh: tf.Tensor[] = new Array(T);
        const dGxN: tf.Tensor[] = new Array(T);
        let dhNext: tf.Tensor | null = null;
        for (let t = T - 1; t >= 0; t--) {
          const dh: tf.Tensor = dhNext ? tf.add(dys[t], dhNext) : dys[t];
          const dn = tf.mul(dh, aNs[t]);
          dGxN[t] = dn;
          dGh[t] = tf.concat([tf.mul(dn, aRs[t]), tf.mul(dh, aZs[t]), tf.mul(dn, rs[t])], 1);
          dhNext = tf.add(tf.mul(dh, zs[t]), tf.matMul(dGh[t] as tf.Tensor2D, wT));
        }
        const dgh = stackSteps(dGh); // [T, B, 3H]: (dr, dz, dn∘r)
        const dgx = tf.concat([dgh.slice([0, 0, 0], [T, B, 2 * H]), stackSteps(dGxN)], 2);
        const dghFlat = dgh.reshape([T * B, G]) as tf.Tensor2D;
        const dW = tf.matMul(hPrev.reshape([T * B, H]) as tf.Tensor2D, dghFlat, true, false);
        return [dgx, dW, tf.sum(dghFlat, 0), dhNext!];
      },
    };
  });
  return op(gx, wHh, bHh, h0) as tf.Tensor3D;
}
