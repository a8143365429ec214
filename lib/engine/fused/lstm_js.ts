// The LSTM recurrence as one kernel each way on the wasm and cpu backends (the shared loop machinery is in
// recurrence.ts; native TensorFlow has its own kernels: lstm_native.ts). Given z_t = gx_t + h_{t−1}·W_hh with
// gx = x·W_ih + b_ih + b_hh precomputed for all steps, in lib/nn/rnn.ts's equations and PyTorch's layout (i, f, g, o):
//   forward   i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g);  c_t = f∘c_{t−1} + i∘g;  h_t = o∘tanh(c_t)
//   backward  (from dh_t, dc_t: the gradients reaching h_t and c_t from outside and from step t+1)
//             dc = dc_t + dh_t∘o∘(1 − tanh²c_t);  dz_i = dc∘g∘i(1−i);  dz_f = dc∘c_{t−1}∘f(1−f);
//             dz_g = dc∘i∘(1 − g²);  dz_o = dh_t∘tanh(c_t)∘o(1−o);  dc_{t−1} += dc∘f;  dh_{t−1} += dz·W_hhᵀ
// The weight gradient dW_hh = Σ_t h_{t−1}ᵀ·dz_t is one matmul over all steps afterwards (in tfjs ops).
import * as tf from "@tensorflow/tfjs";
import { KernelArgs } from "../kernels/wasm_heap";
import { fusedOp } from "./native";
import { Memory, ensureKernels, runLoops } from "./recurrence";

/**
 * Offsets of the forward kernel's arrays: gx [T,B,4H], h0, c0 [B,H] in; hs, cs, tanhC [T,B,H], acts [T,B,4H]
 * (σ(i), σ(f), tanh(g), σ(o)) out. Every nonlinearity goes through `sigmoid`, with tanh(x) = 2σ(2x) − 1: the
 * vectorised sigmoid is ~10x faster than Math.exp/Math.tanh per element, which dominated the step.
 */
interface ForwardOffsets { gx: number; h0: number; c0: number; hs: number; cs: number; tanhC: number; acts: number }

function lstmForward(mem: Memory, T: number, B: number, H: number, o: ForwardOffsets): void {
  // Offsets copied into locals: V8 keeps them in registers (the record they come from is built key by key).
  const { gx: gxO, h0: h0O, c0: c0O, hs: hsO, cs: csO, tanhC: tcO, acts: actO } = o;
  const G = 4 * H;
  for (let t = 0; t < T; t++) {
    const hPrev = t === 0 ? h0O : hsO + (t - 1) * B * H;
    const cPrev = t === 0 ? c0O : csO + (t - 1) * B * H;
    const act = actO + t * B * G;
    const cell = t * B * H;
    mem.product(hPrev, act); // z = h_{t−1}·W_hh, written where the activations go
    let a = mem.data();
    for (let r = 0; r < B; r++) {
      const z = act + r * G;
      const gx = gxO + (t * B + r) * G;
      for (let j = 0; j < G; j++) a[z + j] += a[gx + j];
      for (let j = z + 2 * H; j < z + 3 * H; j++) a[j] *= 2; // tanh(g) = 2σ(2g) − 1
    }
    mem.sigmoid(act, act, B * G);
    a = mem.data();
    for (let r = 0; r < B; r++) {
      const z = act + r * G;
      const cp = cPrev + r * H;
      const k = cell + r * H;
      for (let j = 0; j < H; j++) {
        const g = 2 * a[z + 2 * H + j] - 1;
        a[z + 2 * H + j] = g;
        const c = a[z + H + j] * a[cp + j] + a[z + j] * g;
        a[csO + k + j] = c;
        a[tcO + k + j] = 2 * c;
      }
    }
    mem.sigmoid(tcO + cell, tcO + cell, B * H);
    a = mem.data();
    for (let r = 0; r < B; r++) {
      const og = act + r * G + 3 * H;
      const k = cell + r * H;
      for (let j = 0; j < H; j++) {
        const tc = 2 * a[tcO + k + j] - 1;
        a[tcO + k + j] = tc;
        a[hsO + k + j] = a[og + j] * tc;
      }
    }
  }
}

/**
 * Offsets of the backward kernel's arrays: c0 [B,H], cs, tanhC [T,B,H], acts [T,B,4H], dh, dc [T,B,H] in;
 * dz [T,B,4H], dh0, dc0 [B,H] out (dh0 doubles as the running dh_{t−1}, dc0 as the running dc_{t−1}).
 */
interface BackwardOffsets { c0: number; cs: number; tanhC: number; acts: number; dh: number; dc: number; dz: number; dh0: number; dc0: number }

function lstmBackward(mem: Memory, T: number, B: number, H: number, o: BackwardOffsets): void {
  const { c0: c0O, cs: csO, tanhC: tcO, acts: actO, dh: dhO, dc: dcO, dz: dzO, dh0: dhNext, dc0: dcNext } = o;
  const G = 4 * H;
  let a = mem.data();
  a.fill(0, dhNext, dhNext + B * H);
  a.fill(0, dcNext, dcNext + B * H);
  for (let t = T - 1; t >= 0; t--) {
    const cPrev = t === 0 ? c0O : csO + (t - 1) * B * H;
    for (let r = 0; r < B; r++) {
      const act = actO + (t * B + r) * G;
      const dz = dzO + (t * B + r) * G;
      const k = (t * B + r) * H;
      const cp = cPrev + r * H;
      const n = r * H;
      for (let j = 0; j < H; j++) {
        const i = a[act + j];
        const f = a[act + H + j];
        const g = a[act + 2 * H + j];
        const og = a[act + 3 * H + j];
        const tc = a[tcO + k + j];
        const dh = a[dhO + k + j] + a[dhNext + n + j];
        const dc = a[dcO + k + j] + a[dcNext + n + j] + dh * og * (1 - tc * tc);
        a[dz + j] = dc * g * i * (1 - i);
        a[dz + H + j] = dc * a[cp + j] * f * (1 - f);
        a[dz + 2 * H + j] = dc * i * (1 - g * g);
        a[dz + 3 * H + j] = dh * tc * og * (1 - og);
        a[dcNext + n + j] = dc * f;
      }
    }
    mem.product(dzO + t * B * G, dhNext);
    a = mem.data();
  }
}

const FORWARD = "NluLstmRecurrence";
const BACKWARD = "NluLstmRecurrenceGrad";

function forwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { gx, wHh, h0, c0 } = args.inputs;
  const [T, B, G] = gx.shape;
  const H = G / 4;
  return runLoops(args, wHh, false, B, { gx, h0, c0 }, { hs: [T, B, H], cs: [T, B, H], tanhC: [T, B, H], acts: [T, B, G] }, (mem, off) =>
    lstmForward(mem, T, B, H, off as unknown as ForwardOffsets),
  );
}

function backwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { wHh, c0, cs, tanhC, acts, dh, dc } = args.inputs;
  const [T, B, G] = acts.shape;
  const H = G / 4;
  return runLoops(args, wHh, true, B, { c0, cs, tanhC, acts, dh, dc }, { dz: [T, B, G], dh0: [B, H], dc0: [B, H] }, (mem, off) =>
    lstmBackward(mem, T, B, H, off as unknown as BackwardOffsets),
  );
}

/**
 * The LSTM recurrence from precomputed input gates. gx: [T, B, 4H] = x·W_ih + b_ih + b_hh (PyTorch's gate
 * order), wHh: [H, 4H], h0, c0: [B, H] -> h, c: [T, B, H]. Differentiable in gx, wHh, h0 and c0.
 */
export function jsLstmRecurrence(gx: tf.Tensor3D, wHh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D): { h: tf.Tensor3D; c: tf.Tensor3D } {
  ensureKernels({ [FORWARD]: forwardKernel, [BACKWARD]: backwardKernel });
  const [T, B, G] = gx.shape;
  const H = G / 4;
  const op = fusedOp("FusedLstmRecurrence", ([gx_, w_, h0_, c0_], save) => {
    const [hs, cs, tanhC, acts] = tf.engine().runKernel(FORWARD, { gx: gx_, wHh: w_, h0: h0_, c0: c0_ }) as tf.Tensor[];
    save([w_, h0_, c0_, hs, cs, tanhC, acts]);
    return {
      value: tf.concat([hs, cs], 0),
      gradFunc: (dy, [sw, sh0, sc0, shs, scs, stanhC, sacts]) => {
        const dh = dy.slice([0, 0, 0], [T, B, H]);
        const dc = dy.slice([T, 0, 0], [T, B, H]);
        const [dz, dh0, dc0] = tf.engine().runKernel(BACKWARD, { wHh: sw, c0: sc0, cs: scs, tanhC: stanhC, acts: sacts, dh, dc }) as tf.Tensor[];
        // dW_hh = Σ_t h_{t−1}ᵀ·dz_t: the states each step read, stacked, times all dz at once.
        const hPrev = T === 1 ? sh0 : tf.concat([sh0.expandDims(0), shs.slice([0, 0, 0], [T - 1, B, H])], 0);
        const dW = tf.matMul(hPrev.reshape([T * B, H]) as tf.Tensor2D, dz.reshape([T * B, G]) as tf.Tensor2D, true, false);
        return [dz, dW, dh0, dc0];
      },
    };
  });
  return tf.tidy(() => {
    const hc = op(gx, wHh, h0, c0) as tf.Tensor3D;
    return { h: hc.slice([0, 0, 0], [T, B, H]), c: hc.slice([T, 0, 0], [T, B, H]) };
  });
}
