// Every kernel of the nlu kernel pack against the stock tfjs cpu kernel (or a plain-JS reference where the
// stock kernel is undefined or wrong), forward and gradient, on random inputs of several shapes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { installedKernelPack, useBackend } from "../lib/engine";
import { swapIsCheaper } from "../lib/engine/kernels/matmul";
import { simplifyPermutation } from "../lib/engine/kernels/layout";
import { Rng } from "../lib/random";

// The engine then checks after every kernel that it left no data behind beyond its outputs.
tf.env().set("IS_TEST", true);

type Where = { backend: "wasm" | "cpu" | "node"; pack: boolean };
const STOCK_CPU: Where = { backend: "cpu", pack: false };
const PACK_CPU: Where = { backend: "cpu", pack: true };
const PACK_WASM: Where = { backend: "wasm", pack: true };

interface Result {
  shape: number[];
  values: number[];
}

/** Run f on one backend (inputs are built inside f from plain arrays) and read its outputs back. */
async function on(where: Where, f: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  await useBackend(where.backend, { kernelPack: where.pack });
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const results = outs.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
  tf.dispose(outs);
  return results;
}

function assertClose(actual: Result[], expected: Result[], label: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${label}: number of outputs`);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.deepEqual(a.shape, e.shape, `${label}: shape of output ${i}`);
    for (let j = 0; j < e.values.length; j++) {
      const diff = Math.abs(a.values[j] - e.values[j]);
      if (!(diff <= tol * (1 + Math.abs(e.values[j])))) {
        assert.fail(`${label}: output ${i}[${j}] = ${a.values[j]}, expected ${e.values[j]} (diff ${diff})`);
      }
    }
  });
}

function randomArray(rng: Rng, shape: number[]): { values: Float32Array; shape: number[] } {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.next() * 2 - 1;
  return { values, shape };
}
const t = (a: { values: Float32Array; shape: number[] }): tf.Tensor => tf.tensor(a.values, a.shape);

/** Plain-JS segment sum with the pack's documented semantics (out-of-range ids dropped). */
function segmentSumReference(x: number[], xShape: number[], ids: number[], numSegments: number): Result {
  const inner = tf.util.sizeFromShape(xShape.slice(1));
  const values = new Array(numSegments * inner).fill(0);
  ids.forEach((s, i) => {
    if (s < 0 || s >= numSegments) return;
    for (let j = 0; j < inner; j++) values[s * inner + j] += x[i * inner + j];
  });
  return { shape: [], values };
}

/** Plain-JS batched matmul with numpy broadcasting of batch dims (stock cpu gets two-way broadcasts wrong). */
function matMulReference(
  a: { values: Float32Array; shape: number[] },
  b: { values: Float32Array; shape: number[] },
  ta: boolean,
  tb: boolean,
): Result {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, k] = ta ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(batchShape);
  // Index of the operand batch that feeds output batch i (right-aligned, size-1 dims broadcast).
  const source = (i: number, shape: number[]): number => {
    let index = 0;
    let stride = 1;
    for (let d = batchShape.length - 1, s = shape.length - 1; d >= 0; d--, s--) {
      const coord = i % batchShape[d];
      i = Math.floor(i / batchShape[d]);
      const dim = s >= 0 ? shape[s] : 1;
      if (dim !== 1) index += coord * stride;
      stride *= dim;
    }
    return index;
  };
  const values: number[] = [];
  for (let i = 0; i < batch; i++) {
    const ao = source(i, a.shape.slice(0, -2)) * m * k;
    const bo = source(i, b.shape.slice(0, -2)) * k * n;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          sum += a.values[ao + (ta ? j * m + r : r * k + j)] * b.values[bo + (tb ? c * k + j : j * n + c)];
        }
        values.push(sum);
      }
    }
  }
  return { shape: [...batchShape, m, n], values };
}

test("the pack is installed on wasm and cpu, and stock wasm cannot train an embedding", async () => {
  await useBackend("wasm", { kernelPack: false });
  assert.throws(
    () => tf.unsortedSegmentSum(tf.ones([2, 2]), tf.tensor1d([0, 1], "int32"), 2),
    /Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'/,
  );
  await useBackend("wasm");
  assert.deepEqual(installedKernelPack("wasm").sort(), [
    "BatchMatMul",
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "Equal",
    "GatherV2",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "NotEqual",
    "Pack",
    "Sum",
    "Tanh",
    "Transpose",
    "Unpack",
    "UnsortedSegmentSum",
  ]);
  await useBackend("cpu");
  assert.deepEqual(installedKernelPack("cpu").sort(), [
    "BatchMatMul",
    "Conv2D",
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "UnsortedSegmentSum",
  ]);
  await useBackend("cpu", { kernelPack: false });
  assert.deepEqual(installedKernelPack("cpu"), []);
});

test("UnsortedSegmentSum: pack (wasm, cpu) = stock cpu = JS reference, incl. dropped and empty segments", async () => {
  const rng = new Rng(1);
  // [x shape, numSegments, id range]: ids from [lo, hi) so some are negative or >= numSegments (dropped),
  // and with more segments than ids some segments stay empty.
  const cases: [number[], number, number, number][] = [
    [[12, 5], 5, -2, 7],
    [[6], 9, 0, 9],
    [[4, 3, 2], 3, -1, 4],
    [[1, 1], 1, 0, 1],
    [[0, 4], 3, 0, 3],
    [[40, 16], 100, 0, 100],
  ];
  for (const [shape, numSegments, lo, hi] of cases) {
    const x = randomArray(rng, shape);
    const ids = Array.from({ length: shape[0] }, () => lo + rng.int(hi - lo));
    const f = () => tf.unsortedSegmentSum(t(x), tf.tensor1d(ids, "int32"), numSegments);
    const label = `segmentSum x[${shape}] numSegments ${numSegments}`;
    const stock = await on(STOCK_CPU, f);
    const ref = segmentSumReference(Array.from(x.values), shape, ids, numSegments);
    assertClose([{ shape: stock[0].shape, values: ref.values }], stock, `${label} (JS reference vs stock cpu)`);
    assertClose(await on(PACK_CPU, f), stock, `${label} pack cpu`);
    assertClose(await on(PACK_WASM, f), stock, `${label} pack wasm`);
  }
});

test("UnsortedSegmentSum: int32 values and 2-D segment ids (TF semantics: ids shape is a prefix of x's)", async () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const intCase = () => tf.unsortedSegmentSum(tf.tensor2d(xs, [6, 2], "int32"), tf.tensor1d([2, 0, 2, -1, 5, 0], "int32"), 3);
  const expectedInt = [{ shape: [3, 2], values: [3 + 11, 4 + 12, 0, 0, 1 + 5, 2 + 6] }];
  for (const where of [PACK_CPU, PACK_WASM]) assertClose(await on(where, intCase), expectedInt, `int32 on ${where.backend}`);
  // x: [2, 3, 2], ids: [2, 3] -> out [numSegments, 2]
  const twoD = () =>
    tf.unsortedSegmentSum(tf.tensor3d(xs, [2, 3, 2]), tf.tensor2d([0, 1, 0, 1, 1, 3], [2, 3], "int32") as unknown as tf.Tensor1D, 2);
  const expected2d = [{ shape: [2, 2], values: [1 + 5, 2 + 6, 3 + 7 + 9, 4 + 8 + 10] }];
  for (const where of [PACK_CPU, PACK_WASM]) assertClose(await on(where, twoD), expected2d, `2-D ids on ${where.backend}`);
  await useBackend("wasm");
  assert.throws(
    () => tf.unsortedSegmentSum(tf.ones([4, 2]), tf.tensor1d([0, 1, 0], "int32"), 2),
    /segmentIds shape \[3\] must be a prefix of x shape \[4,2\]/,
  );
});

test("embedding gradient (gather -> UnsortedSegmentSum) matches stock cpu", async () => {
  const rng = new Rng(2);
  const vocab = 50;
  const table = randomArray(rng, [vocab, 8]);
  const ids = Array.from({ length: 6 * 7 }, () => rng.int(12)); // repeats and unused rows
  const r = randomArray(rng, [6, 7, 8]);
  const f = () => {
    const grad = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.gather(w, tf.tensor2d(ids, [6, 7], "int32")), t(r))));
    return [grad(t(table))];
  };
  const stock = await on(STOCK_CPU, f);
  assertClose(await on(PACK_CPU, f), stock, "embedding grad pack cpu");
  assertClose(await on(PACK_WASM, f), stock, "embedding grad pack wasm");
});

test("BatchMatMul (wasm and cpu pack): transposes, batches, broadcasting, size-1 and empty dims, forward and gradient", async () => {
  const rng = new Rng(3);
  // [a shape, b shape] before transposition; each case is run with all four transpose flags.
  const cases: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[40, 24], [24, 30]], // 2-D, large enough for the XNNPACK route
    [[4, 64], [64, 96]], // small m, big n: transposed cases take the swapped orientation (bᵀ·aᵀ)ᵀ
    [[1, 4, 64], [1, 64, 96]],
    [[6, 20, 12], [6, 12, 36]], // batched, XNNPACK route
    [[2, 4, 16, 8], [2, 4, 8, 16]], // attention: [batch, heads, t, d]
    [[5, 20, 12], [12, 36]], // shared b (a weight): folded into one call
    [[20, 12], [3, 12, 36]], // shared a
    [[2, 1, 20, 12], [1, 3, 12, 36]], // batch dims broadcast both ways
    [[1, 1, 1], [1, 1, 1]],
    [[5, 1, 7], [5, 7, 1]],
    [[2, 3, 0], [2, 0, 4]], // empty inner dim: zeros (stock handles equal batches this small)
    [[2, 3, 0], [0, 4]], // ... and the pack's own path
    [[2, 0, 3], [2, 3, 4]], // empty output
    [[2, 0, 3], [3, 4]],
  ];
  const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
  for (const [sa, sb] of cases) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = randomArray(rng, ta ? swap(sa) : sa);
      const b = randomArray(rng, tb ? swap(sb) : sb);
      const outShape = [
        ...tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2)),
        sa[sa.length - 2],
        sb[sb.length - 1],
      ];
      const r = randomArray(rng, outShape);
      // tfjs's BatchMatMul gradient does not reduce broadcast batch dims: check gradients where they match.
      const sameBatch = String(sa.slice(0, -2)) === String(sb.slice(0, -2));
      const f = () => {
        const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), t(r))));
        return [tf.matMul(t(a), t(b), ta, tb), ...(sameBatch ? grads([t(a), t(b)]) : [])];
      };
      const label = `matMul ${ta ? "T" : ""}[${a.shape}] x ${tb ? "T" : ""}[${b.shape}]`;
      const reference = [matMulReference(a, b, ta, tb)];
      const stock = sameBatch ? await on(STOCK_CPU, f) : [];
      for (const where of [PACK_WASM, PACK_CPU]) {
        const got = await on(where, f);
        assertClose([got[0]], reference, `${label} on ${where.backend} (vs JS reference)`);
        if (sameBatch) assertClose(got, stock, `${label} on ${where.backend} (vs stock cpu, with gradients)`);
      }
    }
  }
});

test("matmul orientation: swap only when it copies fewer elements", () => {
  // LSTM backward dy·Wᵀ: dy [32, 512], W [192, 512] -> swap; output projection dy [2048, 2000]·Wᵀ -> no swap.
  assert.equal(swapIsCheaper(32, 512, 192, false, true), true);
  assert.equal(swapIsCheaper(2048, 2000, 128, false, true), false);
  assert.equal(swapIsCheaper(128, 2048, 2000, true, false), false);
  assert.equal(swapIsCheaper(64, 64, 64, false, false), false); // never for a plain product
});

test("Transpose on wasm: merged axes, run copies, blocked 2-D, int32, size-1 dims = stock cpu", async () => {
  assert.deepEqual(simplifyPermutation([32, 64, 3, 4, 32], [2, 0, 3, 1, 4]), { shape: [32, 64, 3, 4, 32], perm: [2, 0, 3, 1, 4] });
  assert.deepEqual(simplifyPermutation([2, 3, 4, 5], [0, 2, 3, 1]), { shape: [2, 3, 20], perm: [0, 2, 1] });
  assert.deepEqual(simplifyPermutation([2, 1, 4], [1, 2, 0]), { shape: [2, 4], perm: [1, 0] });
  const rng = new Rng(5);
  const cases: [number[], number[]][] = [
    [[6, 5, 3, 4, 8], [2, 0, 3, 1, 4]], // head split: last axis stays, run copies
    [[3, 6, 4, 20], [0, 2, 1, 3]], // runs of 20 (copyWithin)
    [[37, 29], [1, 0]], // blocked 2-D with ragged edges
    [[3, 17, 9], [0, 2, 1]], // batched 2-D
    [[2, 3, 4, 5], [3, 1, 0, 2]], // neither: stock
    [[1, 7, 1, 5], [3, 2, 1, 0]], // size-1 dims dropped -> 2-D
    [[4, 1], [1, 0]], // a no-op in memory
    [[0, 3], [1, 0]],
  ];
  for (const [shape, perm] of cases) {
    const x = randomArray(rng, shape);
    const f = () => [tf.transpose(t(x), perm), tf.transpose(t(x).mul(100).toInt(), perm)];
    assertClose(await on(PACK_WASM, f), await on(STOCK_CPU, f), `transpose [${shape}] perm [${perm}]`);
  }
});

test("GatherV2 on wasm: rows along any axis, int32 values, repeated ids = stock cpu; bad ids throw", async () => {
  const rng = new Rng(6);
  const cases: [number[], number[], number][] = [
    [[50, 16], [6, 7], 0], // embedding lookup
    [[50, 3], [9], 0], // short rows (element loop)
    [[4, 10, 5], [3, 2], 1],
    [[4, 10], [7], 1],
    [[5, 8], [0], 0],
  ];
  for (const [shape, idShape, axis] of cases) {
    const x = randomArray(rng, shape);
    const ids = Array.from({ length: tf.util.sizeFromShape(idShape) }, () => rng.int(shape[axis]));
    const f = () => {
      const i = tf.tensor(ids, idShape, "int32");
      const grad = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.gather(w, i, axis))));
      return [tf.gather(t(x), i, axis), tf.gather(t(x).mul(100).toInt(), i, axis), grad(t(x))];
    };
    assertClose(await on(PACK_WASM, f), await on(STOCK_CPU, f), `gather [${shape}] ids [${idShape}] axis ${axis}`);
  }
  await useBackend("wasm");
  assert.throws(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], "int32")), /index value 3 is not in \[0, 2\]/);
  assert.throws(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([-1], "int32")), /index value -1 is not in \[0, 2\]/);
});

test("Sum on wasm: leading axes (bias gradients) and the rest = stock cpu", async () => {
  const rng = new Rng(7);
  const cases: [number[], number | number[], boolean][] = [
    [[64, 30], 0, false],
    [[4, 8, 30], [0, 1], false],
    [[4, 8, 30], [0, 1], true],
    [[4, 8, 30], [0, 2], false], // not leading: stock
    [[4, 8, 30], -1, false],
    [[0, 5], 0, false],
    [[7], 0, false], // all axes: stock
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = randomArray(rng, shape);
    const f = () => [tf.sum(t(x), axis, keepDims)];
    assertClose(await on(PACK_WASM, f), await on(STOCK_CPU, f), `sum [${shape}] axis ${axis} keepDims ${keepDims}`);
  }
});

test("Unpack and Pack on wasm (unstack/stack along any axis, int32, gradients) = stock cpu", async () => {
  const rng = new Rng(8);
  const cases: [number[], number][] = [
    [[3, 4, 2, 5, 8], 0], // q, k, v out of one projection
    [[6, 7, 20], 1], // RNN time steps
    [[5, 3, 1], 1], // runs of one element
    [[4, 3], -1],
    [[1, 9], 1], // (not n = 1: tfjs's own Unpack gradient breaks on a single piece, on every backend)
  ];
  for (const [shape, axis] of cases) {
    const x = randomArray(rng, shape);
    const f = () => {
      const parts = tf.unstack(t(x), axis);
      const weights = parts.map((_, i) => i + 1);
      const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.stack(tf.unstack(v, axis).map((p, i) => p.mul(weights[i])), axis).square()));
      return [...parts, tf.stack(parts.reverse(), axis), tf.stack(tf.unstack(t(x).mul(100).toInt(), axis), axis), grad(t(x))];
    };
    assertClose(await on(PACK_WASM, f), await on(STOCK_CPU, f), `unstack/stack [${shape}] axis ${axis}`);
  }
});

test("conv1d and conv2d (wasm and cpu pack: im2col + matmul), forward and gradients, match stock cpu", async () => {
  const rng = new Rng(4);
  type Conv = { x: number[]; filter: number[]; stride: number | [number, number]; pad: "same" | "valid" | number };
  const cases: Conv[] = [
    { x: [2, 9, 4], filter: [3, 4, 5], stride: 1, pad: "same" },
    { x: [2, 9, 4], filter: [3, 4, 5], stride: 2, pad: "valid" },
    { x: [3, 7, 6], filter: [1, 6, 2], stride: 1, pad: "valid" },
    { x: [1, 1, 3], filter: [3, 3, 2], stride: 1, pad: "same" }, // every tap but one is padding
    { x: [4, 32, 16], filter: [3, 16, 16], stride: 1, pad: "same" },
    { x: [2, 5, 6, 3], filter: [3, 2, 3, 4], stride: [1, 1], pad: "same" },
    { x: [2, 7, 6, 3], filter: [3, 3, 3, 2], stride: [2, 2], pad: "valid" },
    // (tfjs computes odd output shapes for a numeric pad with unequal strides; not the pack's concern)
    { x: [1, 4, 5, 2], filter: [2, 2, 2, 3], stride: [1, 1], pad: 1 },
  ];
  for (const c of cases) {
    const x = randomArray(rng, c.x);
    const w = randomArray(rng, c.filter);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor =>
      c.x.length === 3
        ? tf.conv1d(xx as tf.Tensor3D, ww as tf.Tensor3D, c.stride as number, c.pad as "same" | "valid")
        : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride as [number, number], c.pad);
    const outShape = tf.tidy(() => conv(tf.zeros(c.x), tf.zeros(c.filter)).shape);
    const r = randomArray(rng, outShape);
    const f = () => {
      const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), t(r))));
      return [conv(t(x), t(w)), ...grads([t(x), t(w)])];
    };
    const label = `conv x[${c.x}] filter[${c.filter}] stride ${c.stride} pad ${c.pad}`;
    const stock = await on(STOCK_CPU, f);
    assertClose(await on(PACK_WASM, f), stock, `${label} on wasm`);
    assertClose(await on(PACK_CPU, f), stock, `${label} on cpu`);
  }
  // Forward with dilation (tfjs has no dilated conv gradients): the cpu pack's im2col handles it.
  const x = randomArray(rng, [2, 9, 8, 3]);
  const w = randomArray(rng, [3, 2, 3, 4]);
  for (const pad of ["same", "valid"] as const) {
    const f = () => [tf.conv2d(t(x) as tf.Tensor4D, t(w) as tf.Tensor4D, 1, pad, "NHWC", [2, 3])];
    assertClose(await on(PACK_CPU, f), await on(STOCK_CPU, f), `dilated conv2d pad ${pad} on cpu`);
  }
});

test("native pack (tfjs-node): Reshape and Step = the stock tensorflow kernels, incl. NaN, ±0, ±Inf, int32, bool; ReLU's gradient", async () => {
  await useBackend("node");
  assert.deepEqual(installedKernelPack("tensorflow").sort(), ["Reshape", "Step"]);
  const special = [Number.NaN, 0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-30, -1e-30, 2.5, -3];
  const rng = new Rng(7);
  const values = [...special, ...Array.from({ length: 31 }, () => rng.next() * 2 - 1)]; // 40 values
  const run = () => {
    const x = tf.tensor1d(values);
    const xs = tf.reshape(x, [2, 4, 5]);
    const outs: tf.Tensor[] = [
      xs, tf.reshape(xs, [5, -1]), tf.reshape(tf.scalar(3), [1, 1]), tf.reshape(tf.zeros([0, 4]), [2, 0]),
      tf.reshape(tf.tensor1d([1, 2, 3, 4], "int32"), [2, 2]), tf.cast(tf.reshape(tf.tensor1d([1, 0, 1, 1], "bool"), [4, 1]), "int32"),
      tf.step(x), tf.step(x, 0.2), tf.step(tf.zeros([0])),
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.range(0, 40))))(x),
      tf.grad((v: tf.Tensor) => tf.sum(tf.leakyRelu(v, 0.1)))(x),
    ];
    return outs;
  };
  const rows = (r: Result[]) => r.map((o) => ({ shape: o.shape, values: o.values.map((v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? 0 : v)) }));
  const packed = rows(await on({ backend: "node", pack: true }, run));
  const stock = rows(await on({ backend: "node", pack: false }, run));
  assert.deepEqual(packed, stock);
  // The values themselves, not only agreement: step(NaN) = NaN, step(0) = alpha, step(1e-30) = 1.
  assert.deepEqual(packed[6].values.slice(0, 9), ["NaN", 0, 0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual(packed[7].values.slice(0, 9).map((v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v)), ["NaN", 0.2, 0.2, 1, 0.2, 1, 0.2, 1, 0.2]);
  // Nothing left behind, in tfjs or in TensorFlow (the shape and scalar handles made per call are deleted), even
  // for shapes never seen before.
  await useBackend("node");
  const handles = () => (tf.backend() as unknown as { getNumOfTFTensors(): number }).getNumOfTFTensors();
  const x = tf.ones([4, 6]);
  tf.neg(x).dispose(); // tfjs-node creates x's own TensorFlow handle on its first use
  const [tensorsBefore, handlesBefore] = [tf.memory().numTensors, handles()];
  for (const shape of [[3, 8], [8, 3], [2, 12], [24], [2, 3, 4]]) tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.relu(tf.reshape(v, shape))))(x)).dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.equal(handles(), handlesBefore);
  x.dispose();
});

test("comparisons on wasm with broadcasting (max-pool's gradient) = stock cpu: NaN, ±0, ±Inf, int32, scalars, empty", async () => {
  const special = [Number.NaN, 0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, -1, 0.5];
  const rng = new Rng(3);
  const pick = (n: number) => Array.from({ length: n }, () => special[Math.floor(rng.next() * special.length)]);
  const shapes: [number[], number[]][] = [[[3, 4, 5], [3, 1, 5]], [[2, 1, 4], [1, 3, 1]], [[6], []], [[], [2, 3]], [[4, 1], [4, 3]], [[2, 0, 3], [2, 1, 3]], [[1, 2, 3, 4], [3, 1]]];
  const cases = shapes.map(([sa, sb]) => ({ sa, sb, a: pick(tf.util.sizeFromShape(sa)), b: pick(tf.util.sizeFromShape(sb)) }));
  const ops = [tf.equal, tf.notEqual, tf.greater, tf.greaterEqual, tf.less, tf.lessEqual];
  const run = () => cases.flatMap((c) => ops.flatMap((op) => [
    op(tf.tensor(c.a, c.sa), tf.tensor(c.b, c.sb)),
    // int32 (NaN and infinities become 0 there)
    op(tf.tensor(c.a.map((v) => (Number.isFinite(v) ? Math.round(v * 4) : 0)), c.sa, "int32"), tf.tensor(c.b.map((v) => (Number.isFinite(v) ? Math.round(v * 4) : 0)), c.sb, "int32")),
  ]));
  assertClose(await on(PACK_WASM, run), await on(STOCK_CPU, run), "comparisons", 0);
  // The gradient of a max over time, as lecture 2's CNN takes it.
  const x = randomArray(rng, [4, 6, 8]);
  const maxGrad = () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.max(v, 1), tf.range(0, 32).reshape([4, 8]))))(t(x));
  assertClose(await on(PACK_WASM, maxGrad), await on(STOCK_CPU, maxGrad), "max gradient", 0);
});

test("Tanh on wasm (2·sigmoid(2x) − 1, series near 0) = stock cpu within float32 rounding; NaN, ±Inf, tiny and large values; gradient", async () => {
  const special = [Number.NaN, 0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-30, -1e-7, 0.0499, 0.0501, -0.05, 3, -9, 20, 88];
  const rng = new Rng(5);
  const values = [...special, ...Array.from({ length: 3000 }, (_, i) => (rng.next() * 2 - 1) * (i % 3 === 0 ? 0.1 : 6))];
  const run = () => [tf.tanh(tf.tensor1d(values)), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tanh(v), 0.5)))(tf.tensor1d(values))];
  const [packed, stock] = [await on(PACK_WASM, run), await on(STOCK_CPU, run)];
  for (let o = 0; o < 2; o++) {
    packed[o].values.forEach((v, i) => {
      const e = stock[o].values[i];
      if (Number.isNaN(e)) return assert.ok(Number.isNaN(v), `output ${o}[${i}]: tanh(NaN) must be NaN, got ${v}`);
      // A few float32 ulps of 1 in absolute terms, and relative precision near 0 (the series keeps it).
      assert.ok(Math.abs(v - e) <= 3e-7 + 2e-6 * Math.abs(e), `output ${o}[${i}] (x = ${values[i]}): ${v} vs ${e}`);
    });
  }
  assert.equal(packed[0].values[5], Math.fround(1e-30)); // relative precision kept near 0 (2σ(2x) − 1 alone gives 0)
  assert.deepEqual(packed[0].values.slice(3, 5), [1, -1]);
});
