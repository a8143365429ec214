// The GRU recurrence as one kernel each way on the wasm and cpu backends (shared machinery: recurrence.ts).
// PyTorch's GRU (reset applied after the recurrent product, lib/nn/rnn.ts), with gx = x·W_ih + b_ih precomputed
// for all steps and gh_t = h_{t−1}·W_hh + b_hh, in PyTorch's layout (r, z, n):
//   forward   r, z = σ(gx_r + gh_r), σ(gx_z + gh_z);  n = tanh(gx_n + r∘gh_n);  h_t = n + z∘(h_{t−1} − n)
//   backward  (from dh = dh_t + dh from step t+1)
//             dn = dh∘(1 − z)∘(1 − n²);  dz = dh∘(h_{t−1} − n)∘z(1 − z);  dr = dn∘gh_n∘r(1 − r)
//             d gx = (dr, dz, dn);  d gh = (dr, dz, dn∘r);  dh_{t−1} = dh∘z + d gh·W_hhᵀ
// The weight gradients dW_hh = Σ_t h_{t−1}ᵀ·d gh_t and db_hh = Σ d gh are one matmul and one sum afterwards.
// (TensorFlow's GRUBlockCell applies the reset before the product, a different cell, so native TensorFlow runs
// this GRU as ordinary ops.)
import * as tf from "@tensorflow/tfjs";
import { KernelArgs } from "../kernels/wasm_heap";
import { fusedOp } from "./native";
import { Memory, ensureKernels, runLoops } from "./recurrence";

/** gx [T,B,3H], bHh [3H], h0 [B,H] in; hs, ghn, ns [T,B,H], rz [T,B,2H] out; gh [B,3H] scratch. */
interface ForwardOffsets { gx: number; bHh: number; h0: number; hs: number; rz: number; ghn: number; ns: number; gh: number }

function gruForward(mem: Memory, T: number, B: number, H: number, o: ForwardOffsets): void {
  const { gx: gxO, bHh, h0: h0O, hs: hsO, rz: rzO, ghn: ghnO, ns: nsO, gh } = o;
  const G = 3 * H;
  for (let t = 0; t < T; t++) {
    const hPrev = t === 0 ? h0O : hsO + (t - 1) * B * H;
    mem.product(hPrev, gh);
    let a = mem.data();
    for (let r = 0; r < B; r++) {
      const x = gxO + (t * B + r) * G;
      const q = gh + r * G;
      const rz = rzO + (t * B + r) * 2 * H;
      const k = (t * B + r) * H;
      for (let j = 0; j < 2 * H; j++) a[rz + j] = a[x + j] + a[q + j] + a[bHh + j];
      for (let j = 0; j < H; j++) a[ghnO + k + j] = a[q + 2 * H + j] + a[bHh + 2 * H + j];
    }
    const rzT = rzO + t * B * 2 * H;
    mem.sigmoid(rzT, rzT, B * 2 * H);
    a = mem.data();
    for (let r = 0; r < B; r++) {
      const x = gxO + (t * B + r) * G + 2 * H;
      const rz = rzO + (t * B + r) * 2 * H;
      const k = (t * B + r) * H;
      for (let j = 0; j < H; j++) a[nsO + k + j] = 2 * (a[x + j] + a[rz + j] * a[ghnO + k + j]); // tanh = 2σ(2·) − 1
    }
    mem.sigmoid(nsO + t * B * H, nsO + t * B * H, B * H);
    a = mem.data();
    for (let r = 0; r < B; r++) {
      const rz = rzO + (t * B + r) * 2 * H;
      const k = (t * B + r) * H;
      const hp = hPrev + r * H;
      for (let j = 0; j < H; j++) {
        const n = 2 * a[nsO + k + j] - 1;
        a[nsO + k + j] = n;
        a[hsO + k + j] = n + a[rz + H + j] * (a[hp + j] - n);
      }
    }
  }
}

/** h0 [B,H], hs, ghn, ns, dh [T,B,H], rz [T,B,2H] in; dgx, dgh [T,B,3H], dh0 [B,H] out; direct [B,H] scratch. */
interface BackwardOffsets { h0: number; hs: number; rz: number; ghn: number; ns: number; dh: number; dgx: number; dgh: number; dh0: number; direct: number }

function gruBackward(mem: Memory, T: number, B: number, H: number, o: BackwardOffsets): void {
  const { h0: h0O, hs: hsO, rz: rzO, ghn: ghnO, ns: nsO, dh: dhO, dgx: dgxO, dgh: dghO, dh0: dhNext, direct } = o;
  const G = 3 * H;
  let a = mem.data();
  a.fill(0, dhNext, dhNext + B * H);
  for (let t = T - 1; t >= 0; t--) {
    const hPrev = t === 0 ? h0O : hsO + (t - 1) * B * H;
    for (let r = 0; r < B; r++) {
      const rz = rzO + (t * B + r) * 2 * H;
      const k = (t * B + r) * H;
      const dx = dgxO + (t * B + r) * G;
      const dq = dghO + (t * B + r) * G;
      const n0 = r * H;
      for (let j = 0; j < H; j++) {
        const rg = a[rz + j];
        const z = a[rz + H + j];
        const n = a[nsO + k + j];
        const hp = a[hPrev + n0 + j];
        const dh = a[dhO + k + j] + a[dhNext + n0 + j];
        const dn = dh * (1 - z) * (1 - n * n);
        const dz = dh * (hp - n) * z * (1 - z);
        const dr = dn * a[ghnO + k + j] * rg * (1 - rg);
        a[dx + j] = dr;
        a[dx + H + j] = dz;
        a[dx + 2 * H + j] = dn;
        a[dq + j] = dr;
        a[dq + H + j] = dz;
        a[dq + 2 * H + j] = dn * rg;
        a[direct + n0 + j] = dh * z;
      }
    }
    mem.product(dghO + t * B * G, dhNext);
    a = mem.data();
    for (let i = 0; i < B * H; i++) a[dhNext + i] += a[direct + i];
  }
}

const FORWARD = "NluGruRecurrence";
const BACKWARD = "NluGruRecurrenceGrad";

function forwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { gx, wHh, bHh, h0 } = args.inputs;
  const [T, B, G] = gx.shape;
  const H = G / 3;
  return runLoops(
    args, wHh, false, B, { gx, bHh, h0 }, { hs: [T, B, H], rz: [T, B, 2 * H], ghn: [T, B, H], ns: [T, B, H] },
    (mem, off) => gruForward(mem, T, B, H, off as unknown as ForwardOffsets),
    { gh: [B, G] },
  );
}

function backwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { wHh, h0, hs, rz, ghn, ns, dh } = args.inputs;
  const [T, B, H] = hs.shape;
  return runLoops(
    args, wHh, true, B, { h0, hs, rz, ghn, ns, dh }, { dgx: [T, B, 3 * H], dgh: [T, B, 3 * H], dh0: [B, H] },
    (mem, off) => gruBackward(mem, T, B, H, off as unknown as BackwardOffsets),
    { direct: [B, H] },
  );
}

/**
 * The GRU recurrence from precomputed input gates. gx: [T, B, 3H] = x·W_ih + b_ih (PyTorch's order r, z, n),
 * wHh: [H, 3H], bHh: [3H], h0: [B, H] -> h: [T, B, H]. Differentiable in gx, wHh, bHh and h0.
 */
export function jsGruRecurrence(gx: tf.Tensor3D, wHh: tf.Tensor2D, bHh: tf.Tensor1D, h0: tf.Tensor2D): tf.Tensor3D {
  ensureKernels({ [FORWARD]: forwardKernel, [BACKWARD]: backwardKernel });
  const [T, B, G] = gx.shape;
  const H = G / 3;
  const op = fusedOp("FusedGruRecurrence", ([gx_, w_, b_, h0_], save) => {
    const [hs, rz, ghn, ns] = tf.engine().runKernel(FORWARD, { gx: gx_, wHh: w_, bHh: b_, h0: h0_ }) as tf.Tensor[];
    save([w_, h0_, hs, rz, ghn, ns]);
    return {
      value: hs,
      gradFunc: (dh, [sw, sh0, shs, srz, sghn, sns]) => {
        const [dgx, dgh, dh0] = tf.engine().runKernel(BACKWARD, { wHh: sw, h0: sh0, hs: shs, rz: srz, ghn: sghn, ns: sns, dh }) as tf.Tensor[];
        const hPrev = T === 1 ? sh0 : tf.concat([sh0.expandDims(0), shs.slice([0, 0, 0], [T - 1, B, H])], 0);
        const dghFlat = dgh.reshape([T * B, G]) as tf.Tensor2D;
        const dW = tf.matMul(hPrev.reshape([T * B, H]) as tf.Tensor2D, dghFlat, true, false);
        return [dgx, dW, tf.sum(dghFlat, 0), dh0];
      },
    };
  });
  return op(gx, wHh, bHh, h0) as tf.Tensor3D;
}
