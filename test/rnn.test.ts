// The recurrent cells against PyTorch (issue 11, fault 1: logistic-sigmoid gates, PyTorch's layout and GRU
// convention), and checkpoints of RNN models (fault 2: structural names, weights from construction).
// Reference numbers: test/fixtures/rnn_torch_reference.json, made by rnn_torch_reference.py beside it.
// Every agreement test runs on every backend, with the fused kernels (lib/engine/fused) and without.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { RecurrentCell, RnnEncoder, RnnCell } from "../lib/nn/rnn";
import { Module } from "../lib/nn/module";
import { RnnClassifier } from "../lib/models/rnn_classifier";
import { Trainer } from "../lib/train/trainer";
import { traceMemory } from "../lib/engine";
import { withFusedKernels } from "../lib/engine/fused";
import { TEST_BACKENDS, switchTo } from "./helpers/backends";

const VARIANTS = TEST_BACKENDS.flatMap((backend) => [true, false].map((fused) => ({ backend, fused, label: `${backend}, ${fused ? "fused" : "plain ops"}` })));

type Nested = number | Nested[];
interface CellCase {
  kind: RnnCell; inDim: number; hidden: number; weights: Record<string, Nested>;
  x: number[][]; h0: number[][]; c0?: number[][]; rh: number[][]; rc?: number[][]; h: number[][]; c?: number[][];
  loss: number; grads: Record<string, Nested>;
}
interface SequenceCase {
  name: string; kind: RnnCell; inDim: number; hidden: number; layers: number; bidirectional: boolean;
  lengths: number[]; weights: Record<string, Nested>; x: number[][][]; mask: number[][]; outputs: number[][][];
  h_n: number[][][]; c_n?: number[][][]; ro: number[][][]; rh: number[][][]; rc?: number[][][]; loss: number;
  grads: Record<string, Nested>;
}
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "rnn_torch_reference.json"), "utf8")) as {
  cells: CellCase[];
  sequences: SequenceCase[];
};

/** Max |a − b| over two nested arrays of the same shape (throws on a shape mismatch). */
function maxDiff(a: Nested, b: Nested, where = ""): number {
  if (Array.isArray(a) !== Array.isArray(b)) throw new Error(`shape mismatch at ${where}`);
  if (!Array.isArray(a)) return Math.abs(a - (b as number));
  const bb = b as Nested[];
  if (a.length !== bb.length) throw new Error(`length ${a.length} vs ${bb.length} at ${where}`);
  return Math.max(0, ...a.map((v, i) => maxDiff(v, bb[i], `${where}[${i}]`)));
}

function assertClose(got: Nested, want: Nested, tol: number, what: string): void {
  const d = maxDiff(got, want, what);
  assert.ok(d < tol, `${what}: max |difference| ${d.toExponential(2)} >= ${tol}`);
}

/** PyTorch's weight name -> the course's parameter name and whether it is stored transposed. */
function courseName(torchName: string): { name: string; transpose: boolean } {
  const m = /^(weight|bias)_(ih|hh)(?:_l(\d+)(_reverse)?)?$/.exec(torchName);
  if (!m) throw new Error(`unexpected PyTorch parameter ${torchName}`);
  const [, kind, which, layer, reverse] = m;
  const local = `${kind === "weight" ? "w" : "b"}${which === "ih" ? "Ih" : "Hh"}`;
  return { name: layer === undefined ? local : `l${layer}${reverse ?? ""}.${local}`, transpose: kind === "weight" };
}

/** Copy PyTorch's weights into a course module (weights transposed to the x·W convention). */
function loadTorchWeights(m: Module, weights: Record<string, Nested>): void {
  const params = m.namedParameters();
  assert.equal(params.size, Object.keys(weights).length, `parameter count: ${[...params.keys()]} vs ${Object.keys(weights)}`);
  for (const [torchName, value] of Object.entries(weights)) {
    const { name, transpose } = courseName(torchName);
    const v = params.get(name);
    assert.ok(v, `the course module has no parameter ${name} (for PyTorch's ${torchName})`);
    tf.tidy(() => {
      const t = tf.tensor(value as number[]);
      v.assign(transpose ? t.transpose() : t);
    });
  }
}

/** Gradients of the case's loss: d/d(every parameter), under PyTorch's names, plus d/dx. */
function courseGrads(m: Module, x: tf.Variable, lossFn: () => tf.Scalar): Record<string, Nested> {
  return tf.tidy(() => {
    const named = [...m.namedParameters()];
    const { value, grads } = tf.variableGrads(lossFn, [...named.map(([, v]) => v), x]);
    const out: Record<string, Nested> = { loss: value.arraySync() };
    for (const [name, v] of named) {
      const g = grads[v.name];
      out[name] = (name.split(".").pop()!.startsWith("w") ? g.transpose() : g).arraySync() as Nested;
    }
    out.x = grads[x.name].arraySync() as Nested;
    return out;
  });
}

for (const { backend, fused, label } of VARIANTS) for (const ref of REF.cells) {
  test(`${ref.kind} cell step equals PyTorch's nn.${ref.kind === "lstm" ? "LSTMCell" : "GRUCell"}: state and gradients (${label})`, async (t) => {
    const skip = await switchTo(backend);
    if (skip) return t.skip(skip);
    withFusedKernels(fused, () => cellAgreement(ref));
  });
}

function cellAgreement(ref: CellCase): void {
  const cell = new RecurrentCell({ cell: ref.kind, inDim: ref.inDim, hidden: ref.hidden });
  loadTorchWeights(cell, ref.weights);
  const x = tf.variable(tf.tensor2d(ref.x));
  const h0 = tf.variable(tf.tensor2d(ref.h0));
  const c0 = ref.c0 ? tf.variable(tf.tensor2d(ref.c0)) : undefined;
  const next = cell.step(x, { h: h0, c: c0 });
  assertClose(next.h.arraySync(), ref.h, 1e-6, "h");
  if (ref.c) assertClose(next.c!.arraySync(), ref.c, 1e-6, "c");
  tf.dispose([next.h, next.c]);
  const loss = () =>
    tf.tidy(() => {
      const s = cell.step(x, { h: h0, c: c0 });
      const l = tf.sum(tf.mul(s.h, ref.rh));
      return (s.c ? tf.add(l, tf.sum(tf.mul(s.c, ref.rc!))) : l) as tf.Scalar;
    });
  const { grads } = tf.variableGrads(loss, [...cell.parameters(), x, h0, ...(c0 ? [c0] : [])]);
  const byName: Record<string, Nested> = {};
  for (const [name, v] of cell.namedParameters()) byName[name] = (name.startsWith("w") ? grads[v.name].transpose() : grads[v.name]).arraySync() as Nested;
  for (const [torchName, want] of Object.entries(ref.grads)) {
    const got = torchName in { x: 1, h0: 1, c0: 1 } ? grads[{ x, h0, c0: c0! }[torchName as "x"].name].arraySync() : byName[courseName(torchName).name];
    assertClose(got as Nested, want, 1e-5, `d loss / d ${torchName}`);
  }
  tf.dispose([x, h0, c0, ...Object.values(grads)]);
  cell.dispose();
}

for (const { backend, fused, label } of VARIANTS) for (const ref of REF.sequences) {
  test(`RnnEncoder equals PyTorch (packed sequences): ${ref.name} (${label})`, async (t) => {
    const skip = await switchTo(backend);
    if (skip) return t.skip(skip);
    withFusedKernels(fused, () => sequenceAgreement(ref));
  });
}

function sequenceAgreement(ref: SequenceCase): void {
  const enc = new RnnEncoder({ cell: ref.kind, inDim: ref.inDim, hidden: ref.hidden, layers: ref.layers, bidirectional: ref.bidirectional });
  loadTorchWeights(enc, ref.weights);
  const x = tf.variable(tf.tensor3d(ref.x));
  const mask = tf.tensor2d(ref.mask);
  const { outputs, finalStates } = enc.encode(x, mask);
  assertClose(outputs.arraySync(), ref.outputs, 1e-5, "outputs");
  assertClose(finalStates.map((s) => s.h.arraySync()), ref.h_n, 1e-5, "h_n");
  if (ref.c_n) assertClose(finalStates.map((s) => s.c!.arraySync()), ref.c_n, 1e-5, "c_n");
  tf.dispose([outputs, ...finalStates.flatMap((s) => [s.h, s.c])]);
  // final() is the last layer's h_n.
  const fin = enc.final(x, mask);
  assertClose(fin.arraySync(), ref.h_n[ref.layers - 1], 1e-5, "final()");
  fin.dispose();

  const grads = courseGrads(enc, x, () =>
    tf.tidy(() => {
      const e = enc.encode(x, mask);
      let l = tf.sum(tf.mul(e.outputs, ref.ro));
      e.finalStates.forEach((s, k) => {
        l = tf.add(l, tf.sum(tf.mul(s.h, ref.rh[k])));
        if (s.c) l = tf.add(l, tf.sum(tf.mul(s.c, ref.rc![k])));
      });
      return l as tf.Scalar;
    }),
  );
  assert.ok(Math.abs((grads.loss as number) - ref.loss) < 1e-4, `loss ${grads.loss} vs PyTorch ${ref.loss}`);
  for (const [torchName, want] of Object.entries(ref.grads)) {
    const got = torchName === "x" ? grads.x : grads[courseName(torchName).name];
    assertClose(got, want, 1e-4, `d loss / d ${torchName}`);
  }
  tf.dispose([x, mask]);
  enc.dispose();
}

test("fault 2: an RnnClassifier checkpoint loads into a second model built in the same process", () => {
  const opts = { vocabSize: 20, embedDim: 4, hidden: 3, seed: 1 };
  const a = new RnnClassifier(opts);
  const train = [{ ids: [3, 4, 5], label: 1 }, { ids: [6, 7], label: 0 }, { ids: [8, 9, 10, 11], label: 1 }];
  const trainer = new Trainer(a, { progress: false, plot: false, seed: 2 });
  trainer.trainBatch(train);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-rnn-ck-"));
  trainer.save(path.join(dir, "ck"));
  const b = new RnnClassifier(opts);
  const other = new Trainer(b, { progress: false, plot: false });
  other.load(path.join(dir, "ck"));
  const pa = trainer.predictProba(train);
  const pb = other.predictProba(train);
  assertClose(pb, pa, 1e-7, "predictions after load");
  // ...and the trained weights really differ from a fresh model's, so the load did something.
  const fresh = new RnnClassifier(opts);
  assert.ok(maxDiff(new Trainer(fresh, { progress: false }).predictProba(train), pa) > 1e-4);
  [a, b, fresh].forEach((m) => m.dispose());
  trainer.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("fault 2: copyWeightsFrom between two fresh RnnEncoders; weights exist before any forward pass", () => {
  const make = (seed: number) => new RnnEncoder({ inDim: 4, hidden: 3, layers: 2, seed });
  const a = make(1);
  const b = make(2);
  // Per direction: wIh [in, 12] + wHh [3, 12] + two biases [12]; layer 1 reads the 6-wide output of layer 0.
  assert.equal(a.paramCount(), 2 * (4 * 12 + 3 * 12 + 24) + 2 * (6 * 12 + 3 * 12 + 24));
  assert.deepEqual([...a.namedParameters().keys()].slice(0, 5), ["l0.wIh", "l0.wHh", "l0.bIh", "l0.bHh", "l0_reverse.wIh"]);
  b.copyWeightsFrom(a);
  const x = tf.randomNormal([2, 5, 4], 0, 1, "float32", 3) as tf.Tensor3D;
  const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]);
  assertClose(b.sequence(x, mask).arraySync(), a.sequence(x, mask).arraySync(), 1e-7, "outputs after copy");
  const clf = new RnnClassifier({ vocabSize: 20, embedDim: 4, hidden: 3, seed: 1 });
  assert.equal(clf.paramCount(), 20 * 4 + 2 * (4 * 12 + 3 * 12 + 24) + (6 * 2 + 2));
  tf.dispose([x, mask]);
  [a, b, clf].forEach((m) => m.dispose());
});

test("fault 2, the whole kind: tfjs layers registered with addLayer get structural names and exist at once", () => {
  class Wrapper extends Module {
    constructor(build: boolean) {
      super();
      this.addLayer("dense", tf.layers.dense({ units: 2 }), build ? [3] : undefined);
    }
  }
  const [a, b] = [new Wrapper(true), new Wrapper(true)];
  assert.deepEqual([...a.namedParameters().keys()], ["dense.0_kernel", "dense.1_bias"]);
  assert.deepEqual([...b.namedParameters().keys()], [...a.namedParameters().keys()]);
  assert.equal(a.paramCount(), 8);
  b.copyWeightsFrom(a);
  assert.throws(() => new Wrapper(false), /not built; pass its inputShape/);
  [a, b].forEach((m) => m.dispose());
});

test("RecurrentCell: a step sequence equals run(); bad shapes and states are clear errors", () => {
  for (const cell of ["lstm", "gru"] as const) {
    const c = new RecurrentCell({ cell, inDim: 3, hidden: 4, seed: 5 });
    tf.tidy(() => {
      const x = tf.randomNormal([6, 2, 3], 0, 1, "float32", 1) as tf.Tensor3D; // [time, batch, in]
      const run = c.run(x);
      let s = c.zeroState(2);
      (tf.unstack(x) as tf.Tensor2D[]).forEach((xt, t) => {
        s = c.step(xt, s);
        assertClose(s.h.arraySync(), (run.h.slice([t, 0, 0], [1, 2, 4]).reshape([2, 4]) as tf.Tensor2D).arraySync(), 1e-6, `${cell} h at ${t}`);
        if (cell === "lstm") assertClose(s.c!.arraySync(), run.c!.slice([t, 0, 0], [1, 2, 4]).reshape([2, 4]).arraySync() as number[][], 1e-6, `c at ${t}`);
      });
    });
    const s = c.zeroState(2);
    assert.throws(() => c.step(tf.zeros([2, 5]) as tf.Tensor2D, s), /RecurrentCell.step: x has shape \[2, 5\]; it must be \[batch, 3\]/);
    assert.throws(() => c.step(tf.zeros([3, 3]) as tf.Tensor2D, s), /state has h \[2,4\].*expected \[3, 4\].*zeroState/);
    if (cell === "lstm") assert.throws(() => c.step(tf.zeros([2, 3]) as tf.Tensor2D, { h: s.h }), /c \[missing\]/);
    tf.dispose([s.h, s.c]);
    c.dispose();
  }
  assert.throws(() => new RecurrentCell({ cell: "elman" as RnnCell, inDim: 2, hidden: 2 }), /cell "elman" is unknown/);
  assert.throws(() => new RnnEncoder({ inDim: 2, hidden: 2, layers: 0 }), /layers \(0\) must be a positive integer/);
});

test("RnnEncoder: masks must be right-padded with a real token per row; shapes are checked", () => {
  const enc = new RnnEncoder({ inDim: 2, hidden: 2 });
  const x = tf.zeros([2, 3, 2]) as tf.Tensor3D;
  assert.throws(() => enc.sequence(x, tf.tensor2d([[1, 0, 1], [1, 1, 1]])), /mask row 0 is not right-padded/);
  assert.throws(() => enc.sequence(x, tf.tensor2d([[0, 0, 0], [1, 1, 1]])), /mask row 0 has no real token/);
  assert.throws(() => enc.sequence(x, tf.tensor2d([[1, 1], [1, 1]])), /RnnEncoder: mask has shape \[2, 2\]; it must be \[batch, time\] = \[2, 3\]/);
  assert.throws(() => enc.sequence(tf.zeros([2, 3, 5]) as tf.Tensor3D, tf.ones([2, 3])), /RnnEncoder: x has shape \[2, 3, 5\]; it must be \[batch, time, 2\]/);
  enc.dispose();
});

test("RnnEncoder training steps keep memory flat (stacked, bidirectional, both cells)", () => {
  for (const cell of ["lstm", "gru"] as const) {
    const enc = new RnnEncoder({ cell, inDim: 3, hidden: 4, layers: 2 });
    const x = tf.randomNormal([3, 5, 3]) as tf.Tensor3D;
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]);
    const opt = tf.train.adam(0.01);
    const trace = traceMemory(() => {
      tf.tidy(() => {
        opt.minimize(() => tf.sum(tf.square(enc.final(x, mask))) as tf.Scalar, false, enc.trainableVariables());
      });
    }, { steps: 10 });
    assert.ok(trace.flat, `${cell}: ${trace.growth}`);
    tf.dispose([x, mask]);
    opt.dispose();
    enc.dispose();
  }
});
