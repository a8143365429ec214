// The LSTM recurrence as one kernel on the wasm and cpu backends (native TensorFlow has its own: lstm_native.ts).
//
// The input half of every gate, x·W_ih + b, is one matmul over all time steps, done by ordinary tfjs ops. What
// remains waits step by step: z_t = gx_t + h_{t−1}·W_hh, then the gates. As tfjs ops that is a dozen kernels
// per step forward and two or three dozen backward, each with its JS overhead; here it is ONE kernel each way
// that loops over the steps itself: the product through XNNPACK on a view of the wasm heap (gemm.ts on cpu),
// the gates as plain loops. Equations (as in lib/nn/rnn.ts, PyTorch's layout i, f, g, o):
//   forward   i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g);  c_t = f∘c_{t−1} + i∘g;  h_t = o∘tanh(c_t)
//   backward  (from dh_t, dc_t: the gradients reaching h_t and c_t from outside and from step t+1)
//             dc = dc_t + dh_t∘o∘(1 − tanh²c_t);  dz_i = dc∘g∘i(1−i);  dz_f = dc∘c_{t−1}∘f(1−f);
//             dz_g = dc∘i∘(1 − g²);  dz_o = dh_t∘tanh(c_t)∘o(1−o);  dc_{t−1} += dc∘f;  dh_{t−1} += dz·W_hhᵀ
// The weight gradient dW_hh = Σ_t h_{t−1}ᵀ·dz_t is one matmul over all steps afterwards (in tfjs ops).
import * as tf from "@tensorflow/tfjs";
import { gemm } from "../kernels/gemm";
import { stockKernel } from "../kernels";
import { CpuBackend, HeapViews, KernelArgs, WasmBackend, heapId, heapOffset, writeShapes } from "../kernels/wasm_heap";
import { fusedOp } from "./native";

/** Where the loops read and write: one Float32Array (the wasm heap, or a cpu arena) and float offsets into it. */
interface Memory {
  /** The array; read it again after every product or sigmoid (the wasm heap may grow, detaching the old view). */
  data(): Float32Array;
  /** out[rows, n] = a[rows, k]·W, with W the kernel's fixed matrix (W_hh forward, W_hhᵀ backward). */
  product(aOff: number, outOff: number): void;
  /** out[0..n) = σ(x[0..n)); on wasm one vectorised XNNPACK call (in place allowed). */
  sigmoid(xOff: number, outOff: number, n: number): void;
}

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

// ---- the kernels: the same loops on the wasm heap and on a cpu arena ----

const FORWARD = "NluLstmRecurrence";
const BACKWARD = "NluLstmRecurrenceGrad";

/**
 * Lay a kernel's tensors out for the loops and run them: `inputs` are read, `outputs` (name -> shape) written
 * and returned in order; `w` [k, n] is the matrix `product` multiplies by (transposed first when asked). On
 * wasm everything stays on the heap and products go through XNNPACK with W's real id (so XNNPACK packs W once
 * per call); on cpu the tensors are copied into one arena and multiplied by gemm.ts.
 */
function runLoops(
  args: KernelArgs, w: tf.TensorInfo, transposeW: boolean, rows: number,
  inputs: Record<string, tf.TensorInfo>, outputs: Record<string, number[]>,
  loop: (mem: Memory, off: Record<string, number>) => void,
): tf.TensorInfo[] {
  const [k, n] = transposeW ? [w.shape[1], w.shape[0]] : w.shape;
  const names = Object.keys(outputs);
  if (tf.getBackend() === "wasm") {
    const backend = args.backend as WasmBackend;
    const wasm = backend.wasm;
    const wk = transposeW ? (stockKernel("Transpose", "wasm")({ inputs: { x: w }, backend, attrs: { perm: [1, 0] } }) as tf.TensorInfo) : w;
    const outs = names.map((name) => backend.makeOutput(outputs[name], "float32"));
    const off: Record<string, number> = {};
    for (const [name, t] of Object.entries(inputs)) off[name] = heapOffset(backend, t) >> 2;
    names.forEach((name, i) => (off[name] = heapOffset(backend, outs[i]) >> 2));
    const views = new HeapViews(backend);
    const view = (offset: number, size: number) => views.view(4 * offset, size);
    try {
      loop(
        {
          data: () => wasm.HEAPF32,
          product: (aOff, outOff) => {
            const shapes = writeShapes(wasm, [1, rows, k, 1, k, n]);
            wasm._BatchMatMul(view(aOff, rows * k), shapes, 3, heapId(backend, wk), shapes + 12, 3, 0, 0, view(outOff, rows * n));
            views.release();
          },
          sigmoid: (xOff, outOff, size) => {
            wasm._Sigmoid(view(xOff, size), view(outOff, size));
            views.release();
          },
        },
        off,
      );
    } finally {
      views.release();
      if (wk !== w) backend.disposeData(wk.dataId);
    }
    return outs;
  }
  const backend = args.backend as CpuBackend;
  const read = (t: tf.TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const arrays = [...Object.values(inputs).map(read), ...names.map((name) => new Float32Array(tf.util.sizeFromShape(outputs[name])))];
  const wv = read(w);
  arrays.push(transposeW ? Float32Array.from({ length: wv.length }, (_, i) => wv[(i % n) * k + Math.floor(i / n)]) : wv);
  const starts = arrays.map((_, i) => arrays.slice(0, i).reduce((sum, x) => sum + x.length, 0));
  const arena = new Float32Array(starts[starts.length - 1] + arrays[arrays.length - 1].length);
  arrays.forEach((x, i) => arena.set(x, starts[i]));
  const off: Record<string, number> = {};
  [...Object.keys(inputs), ...names].forEach((name, i) => (off[name] = starts[i]));
  const wOff = starts[starts.length - 1];
  loop(
    {
      data: () => arena,
      product: (aOff, outOff) => gemm(arena, aOff, arena, wOff, arena, outOff, rows, k, n),
      sigmoid: (xOff, outOff, size) => {
        for (let i = 0; i < size; i++) arena[outOff + i] = 1 / (1 + Math.exp(-arena[xOff + i]));
      },
    },
    off,
  );
  return names.map((name) => backend.makeTensorInfo(outputs[name], "float32", arena.slice(off[name], off[name] + tf.util.sizeFromShape(outputs[name]))));
}

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

/** Register the two kernels for wasm and cpu once per process (the registry is global; re-imports find them). */
function ensureKernels(): void {
  for (const backendName of ["wasm", "cpu"]) {
    if (!tf.getKernel(FORWARD, backendName)) {
      tf.registerKernel({ kernelName: FORWARD, backendName, kernelFunc: forwardKernel as unknown as tf.KernelFunc });
    }
    if (!tf.getKernel(BACKWARD, backendName)) {
      tf.registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backwardKernel as unknown as tf.KernelFunc });
    }
  }
}

/** Whether the active backend runs the JS recurrence kernels. */
export function jsLstmAvailable(): boolean {
  const name = tf.getBackend();
  return name === "wasm" || name === "cpu";
}

/**
 * The LSTM recurrence from precomputed input gates. gx: [T, B, 4H] = x·W_ih + b_ih + b_hh (PyTorch's gate
 * order), wHh: [H, 4H], h0, c0: [B, H] -> h, c: [T, B, H]. Differentiable in gx, wHh, h0 and c0.
 */
export function jsLstmRecurrence(gx: tf.Tensor3D, wHh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D): { h: tf.Tensor3D; c: tf.Tensor3D } {
  ensureKernels();
  const [T, B, G] = gx.shape;
  const H = G / 4;
  const op = fusedOp(([gx_, w_, h0_, c0_], save) => {
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
