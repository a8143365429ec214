// The machinery the recurrence kernels for wasm and cpu share (lstm_js.ts, gru_js.ts).
//
// An RNN's input half, x·W_ih + b, is one matmul over all time steps, done by ordinary tfjs ops. What remains
// waits step by step: a product h_{t−1}·W_hh and a few elementwise gates. As tfjs ops that is a dozen kernels per
// step forward and two or three dozen backward, each paying tfjs's per-kernel overhead; as a registered kernel
// it is ONE call each way that loops over the steps itself, with the product through XNNPACK on views of the
// wasm heap (gemm.ts on cpu) and every nonlinearity through one vectorised sigmoid call per step
// (tanh(x) = 2σ(2x) − 1).
import * as tf from "@tensorflow/tfjs";
import { gemm } from "../kernels/gemm";
import { stockKernel } from "../kernels";
import { CpuBackend, HeapViews, KernelArgs, WasmBackend, heapId, heapOffset, writeShapes } from "../kernels/wasm_heap";

/** Where the loops read and write: one Float32Array (the wasm heap, or a cpu arena) and float offsets into it. */
export interface Memory {
  /** The array; read it again after every product or sigmoid (the wasm heap may grow, detaching the old view). */
  data(): Float32Array;
  /** out[rows, n] = a[rows, k]·W, with W the kernel's fixed matrix (W_hh forward, W_hhᵀ backward). */
  product(aOff: number, outOff: number): void;
  /** out[0..n) = σ(x[0..n)); on wasm one vectorised XNNPACK call (in place allowed). */
  sigmoid(xOff: number, outOff: number, n: number): void;
}

/**
 * Lay a kernel's tensors out for the loops and run them: `inputs` are read, `outputs` (name -> shape) written
 * and returned in order, `scratch` (name -> shape) lives for the call; `w` [k, n] is the matrix `product` multiplies by (transposed first when asked). On
 * wasm everything stays on the heap and products go through XNNPACK with W's real id (so XNNPACK packs W once
 * per call); on cpu the tensors are copied into one arena and multiplied by gemm.ts.
 */
export function runLoops(
  args: KernelArgs, w: tf.TensorInfo, transposeW: boolean, rows: number,
  inputs: Record<string, tf.TensorInfo>, outputs: Record<string, number[]>,
  loop: (mem: Memory, off: Record<string, number>) => void,
  scratch: Record<string, number[]> = {},
): tf.TensorInfo[] {
  const [k, n] = transposeW ? [w.shape[1], w.shape[0]] : w.shape;
  const names = Object.keys(outputs);
  const scratchNames = Object.keys(scratch);
  if (tf.getBackend() === "wasm") {
    const backend = args.backend as WasmBackend;
    const wasm = backend.wasm;
    const wk = transposeW ? (stockKernel("Transpose", "wasm")({ inputs: { x: w }, backend, attrs: { perm: [1, 0] } }) as tf.TensorInfo) : w;
    const outs = names.map((name) => backend.makeOutput(outputs[name], "float32"));
    const temps = scratchNames.map((name) => backend.makeOutput(scratch[name], "float32"));
    const off: Record<string, number> = {};
    for (const [name, t] of Object.entries(inputs)) off[name] = heapOffset(backend, t) >> 2;
    names.forEach((name, i) => (off[name] = heapOffset(backend, outs[i]) >> 2));
    scratchNames.forEach((name, i) => (off[name] = heapOffset(backend, temps[i]) >> 2));
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
      for (const t of temps) backend.disposeData(t.dataId);
    }
    return outs;
  }
  const backend = args.backend as CpuBackend;
  const read = (t: tf.TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const sized = (shape: number[]) => new Float32Array(tf.util.sizeFromShape(shape));
  const arrays = [...Object.values(inputs).map(read), ...names.map((name) => sized(outputs[name])), ...scratchNames.map((name) => sized(scratch[name]))];
  const wv = read(w);
  arrays.push(transposeW ? Float32Array.from({ length: wv.length }, (_, i) => wv[(i % n) * k + Math.floor(i / n)]) : wv);
  const starts = arrays.map((_, i) => arrays.slice(0, i).reduce((sum, x) => sum + x.length, 0));
  const arena = new Float32Array(starts[starts.length - 1] + arrays[arrays.length - 1].length);
  arrays.forEach((x, i) => arena.set(x, starts[i]));
  const off: Record<string, number> = {};
  [...Object.keys(inputs), ...names, ...scratchNames].forEach((name, i) => (off[name] = starts[i]));
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

/** Register `kernels` (name -> kernel function) for wasm and cpu once per process (the registry is global). */
export function ensureKernels(kernels: Record<string, (args: KernelArgs) => tf.TensorInfo[]>): void {
  for (const backendName of ["wasm", "cpu"]) {
    for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    }
  }
}

/** Whether the active backend runs these recurrence kernels. */
export function jsRecurrenceAvailable(): boolean {
  const name = tf.getBackend();
  return name === "wasm" || name === "cpu";
}

