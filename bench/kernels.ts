// Micro-benchmarks of the nlu kernel pack: ms per training step of the pieces it accelerates, stock kernels
// vs the pack, on each backend that loads here; optionally a per-kernel profile of a small transformer step.
//
//   npx tsx bench/kernels.ts                          # table: embedding grad, conv1d, attention, transformer
//   npx tsx bench/kernels.ts --backends wasm --profile lstm  # plus the slowest kernels of one LSTM step
//   npx tsx bench/kernels.ts --only attention --budget 2
//
// Shapes follow issue 2's reference models (batch 32, width 128, len 32/64, vocab 2000, 4 heads). The
// reference models themselves live in lib/models once they exist; these are the bare ops they stress.
import * as tf from "@tensorflow/tfjs";
import { BackendName, installKernelPack, useBackend } from "../lib/engine";

/** Kernels stock wasm lacks: "stock + missing" installs only these, to time what the rest of the pack adds. */
const MISSING_ON_WASM = ["UnsortedSegmentSum", "Conv2DBackpropFilter"];

interface Case {
  name: string;
  /** Builds variables and returns one training step (forward + backward + Adam update). */
  setup(): { step: () => void; dispose: () => void };
}

const seeded = (shape: number[], seed: number, scale = 0.1) => tf.randomNormal(shape, 0, scale, "float32", seed);
const randomIds = (shape: number[], vocab: number, seed: number) =>
  tf.tidy(() => tf.floor(tf.randomUniform(shape, 0, vocab, "float32", seed)).toInt());

/** An Adam step on `loss` over `vars`, with every intermediate disposed. */
function adamStep(opt: tf.Optimizer, vars: tf.Variable[], loss: () => tf.Scalar): () => void {
  return () => {
    const cost = opt.minimize(loss, true, vars);
    cost?.dataSync(); // wait for the step (wasm/cpu are synchronous anyway) and read the loss like a trainer
    cost?.dispose();
  };
}

function variables(named: Record<string, tf.Tensor>): tf.Variable[] {
  return Object.entries(named).map(([name, t]) => tf.variable(t, true, `${name}_${Math.random()}`));
}

/** Embedding lookup, mean, linear: its gradient is UnsortedSegmentSum over a 2000-row table. */
const embeddingGrad: Case = {
  name: "embedding grad (vocab 2000, d 64, ids 32x32)",
  setup() {
    const [table, w] = variables({ table: seeded([2000, 64], 1), w: seeded([64, 2], 2) });
    const ids = randomIds([32, 32], 2000, 3);
    const opt = tf.train.adam(1e-3);
    const step = adamStep(opt, [table, w], () =>
      tf.tidy(() => tf.mean(tf.square(tf.matMul(tf.mean(tf.gather(table, ids), 1), w)))),
    );
    return { step, dispose: () => tf.dispose([table, w, ids, opt as unknown as tf.Tensor]) };
  },
};

/** One conv1d layer (width 128, kernel 3, len 32, batch 32): Conv2D + both backprop kernels. */
const conv1dStep: Case = {
  name: "conv1d train step (32x32x128, k 3)",
  setup() {
    const [filter] = variables({ filter: seeded([3, 128, 128], 4) });
    const x = seeded([32, 32, 128], 5, 1);
    const opt = tf.train.adam(1e-3);
    // x is a constant here; ask for its gradient anyway (a stacked conv needs it), through a second filter use.
    const step = adamStep(opt, [filter], () =>
      tf.tidy(() => {
        const h = tf.relu(tf.conv1d(x as tf.Tensor3D, filter as tf.Tensor3D, 1, "same"));
        return tf.mean(tf.square(tf.conv1d(h, filter as tf.Tensor3D, 1, "same")));
      }),
    );
    return { step, dispose: () => tf.dispose([filter, x]) };
  },
};

/** Scaled dot-product attention on [batch 32, heads 4, t 64, d 32] q, k, v: batched matmuls fwd + bwd. */
const attentionStep: Case = {
  name: "attention matmuls train step (32x4x64x32)",
  setup() {
    const [q, k, v] = variables({ q: seeded([32, 4, 64, 32], 6, 1), k: seeded([32, 4, 64, 32], 7, 1), v: seeded([32, 4, 64, 32], 8, 1) });
    const opt = tf.train.adam(1e-3);
    const step = adamStep(opt, [q, k, v], () =>
      tf.tidy(() => {
        const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(32));
        return tf.mean(tf.square(tf.matMul(tf.softmax(scores), v)));
      }),
    );
    return { step, dispose: () => tf.dispose([q, k, v]) };
  },
};

/** LSTM classifier step (emb 64, hidden 128, len 32, vocab 2000, batch 32): many small products per step. */
const lstmStep: Case = {
  name: "LSTM classifier step (emb 64, h 128, t 32)",
  setup() {
    const [emb, w, bias, out] = variables({
      emb: seeded([2000, 64], 20), w: seeded([64 + 128, 4 * 128], 21), bias: tf.zeros([4 * 128]), out: seeded([128, 2], 22),
    });
    const ids = randomIds([32, 32], 2000, 23);
    const labels = tf.oneHot(randomIds([32], 2, 24), 2);
    const opt = tf.train.adam(1e-3);
    const step = adamStep(opt, [emb, w, bias, out], () =>
      tf.tidy(() => {
        const xs = tf.unstack(tf.gather(emb, ids), 1); // 32 × [batch, 64]
        let h: tf.Tensor = tf.zeros([32, 128]);
        let c: tf.Tensor = tf.zeros([32, 128]);
        for (const x of xs) {
          const z = tf.add(tf.matMul(tf.concat([x, h], 1), w), bias);
          const [i, f, g, o] = tf.split(z, 4, 1);
          c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
          h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        }
        return tf.losses.softmaxCrossEntropy(labels, tf.matMul(h, out)) as tf.Scalar;
      }),
    );
    return { step, dispose: () => tf.dispose([emb, w, bias, out, ids, labels]) };
  },
};

function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gain), bias);
}

/** A 2-layer pre-LN transformer LM step (d 128, 4 heads, FFN 512, len 64, vocab 2000, batch 32). */
export function transformerCase(opts = { batch: 32, len: 64, vocab: 2000, d: 128, heads: 4, ffn: 512, layers: 2 }): Case {
  const { batch, len, vocab, d, heads, ffn, layers } = opts;
  const dh = d / heads;
  return {
    name: `transformer LM step (b ${batch}, t ${len}, d ${d}, ${layers} layers)`,
    setup() {
      let seed = 10;
      const p: Record<string, tf.Tensor> = { emb: seeded([vocab, d], seed++), pos: seeded([len, d], seed++), out: seeded([d, vocab], seed++) };
      for (let l = 0; l < layers; l++) {
        Object.assign(p, {
          [`qkv${l}`]: seeded([d, 3 * d], seed++), [`o${l}`]: seeded([d, d], seed++),
          [`w1${l}`]: seeded([d, ffn], seed++), [`w2${l}`]: seeded([ffn, d], seed++),
          [`b1${l}`]: tf.zeros([ffn]), [`g1${l}`]: tf.ones([d]), [`n1${l}`]: tf.zeros([d]),
          [`g2${l}`]: tf.ones([d]), [`n2${l}`]: tf.zeros([d]),
        });
      }
      const names = Object.keys(p);
      const vars = variables(p);
      const v = Object.fromEntries(names.map((n, i) => [n, vars[i]]));
      const ids = randomIds([batch, len], vocab, 99);
      const labels = randomIds([batch * len], vocab, 98);
      const opt = tf.train.adam(1e-3);
      const loss = () =>
        tf.tidy(() => {
          let x = tf.add(tf.gather(v.emb, ids), v.pos).reshape([batch * len, d]);
          for (let l = 0; l < layers; l++) {
            const h = layerNorm(x, v[`g1${l}`], v[`n1${l}`]);
            const qkv = tf.matMul(h, v[`qkv${l}`]).reshape([batch, len, 3, heads, dh]).transpose([2, 0, 3, 1, 4]);
            const [q, k, val] = tf.unstack(qkv);
            const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
            const ctx = tf.matMul(att, val).transpose([0, 2, 1, 3]).reshape([batch * len, d]);
            x = tf.add(x, tf.matMul(ctx, v[`o${l}`]));
            const h2 = layerNorm(x, v[`g2${l}`], v[`n2${l}`]);
            x = tf.add(x, tf.matMul(tf.relu(tf.add(tf.matMul(h2, v[`w1${l}`]), v[`b1${l}`])), v[`w2${l}`]));
          }
          const logits = tf.matMul(x, v.out);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, vocab), logits) as tf.Scalar;
        });
      return { step: adamStep(opt, vars, loss), dispose: () => tf.dispose([...vars, ids, labels]) };
    },
  };
}

const CASES: Record<string, Case> = {
  embedding: embeddingGrad,
  lstm: lstmStep,
  conv1d: conv1dStep,
  attention: attentionStep,
  transformer: transformerCase(),
};

/** Median ms per step after one warm-up, within a time budget (slow stock kernels get few runs). */
function timeSteps(step: () => void, budgetMs: number, maxRuns = 20): { ms: number; runs: number; leaked: number } {
  step(); // warm-up: kernel setup, XNNPACK operator creation, heap growth, Adam's moment variables
  const before = tf.memory().numTensors;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < 3 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
    if (times[0] > budgetMs) break; // one run is the budget already
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], runs: times.length, leaked: tf.memory().numTensors - before };
}

async function profileStep(c: Case): Promise<void> {
  const { step, dispose } = c.setup();
  step();
  const steps = 3;
  const total = new Map<string, { ms: number; calls: number }>();
  let info = await tf.profile(() => step());
  for (let i = 0; i < steps; i++) {
    if (i > 0) info = await tf.profile(() => step());
    for (const k of info.kernels) {
      const e = total.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += Number(k.kernelTimeMs) / steps;
      e.calls += 1 / steps;
      total.set(k.name, e);
    }
  }
  const rows = [...total.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const sum = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`\nprofile of ${c.name} on ${tf.getBackend()}, mean of ${steps} steps: ${sum.toFixed(1)} ms in kernels`);
  console.log("  (composite ops such as softmaxCrossEntropy__op also count the kernels they run)");
  for (const [name, e] of rows.slice(0, 25)) {
    console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(2).padStart(9)} ms  ${String(Math.round(e.calls)).padStart(4)} calls  ${((100 * e.ms) / sum).toFixed(1).padStart(5)}%`);
  }
  if (process.argv.includes("--detail")) {
    const calls = [...info.kernels].sort((a, b) => Number(b.kernelTimeMs) - Number(a.kernelTimeMs)).slice(0, 40);
    for (const k of calls) {
      console.log(`  ${Number(k.kernelTimeMs).toFixed(2).padStart(8)} ms  ${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)}`);
    }
  }
  dispose();
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backends = arg("backends", "wasm,cpu").split(",") as BackendName[];
  const only = arg("only", Object.keys(CASES).join(",")).split(",");
  const budgetMs = Number(arg("budget", "3")) * 1000;
  const unknown = only.filter((n) => !(n in CASES));
  if (unknown.length) throw new Error(`--only ${unknown.join(",")}: use some of ${Object.keys(CASES).join(", ")}`);
  const modes = ["stock", "stock+missing", "pack"] as const;
  const rows: string[][] = [["case", "backend", ...modes.map((m) => `${m} ms`), "pack speed-up"]];
  for (const backend of backends) {
    for (const name of only) {
      const c = CASES[name];
      const result: Record<string, string> = {};
      const ms: Record<string, number> = {};
      for (const mode of modes) {
        if (mode === "stock+missing" && backend !== "wasm") {
          result[mode] = "(= stock)";
          continue;
        }
        await useBackend(backend, { kernelPack: mode === "pack" });
        if (mode === "stock+missing") installKernelPack("wasm", { only: MISSING_ON_WASM });
        try {
          const { step, dispose } = c.setup();
          const t = timeSteps(step, budgetMs);
          dispose();
          ms[mode] = t.ms;
          result[mode] = `${t.ms.toFixed(1)} (${t.runs})${t.leaked ? ` LEAK ${t.leaked} tensors` : ""}`;
        } catch (err) {
          result[mode] = `fails (${String((err as Error).message).match(/Kernel '(\w+)'/)?.[1] ?? "error"} missing)`;
        }
      }
      const base = ms.stock ?? ms["stock+missing"];
      const speedup = base && ms.pack ? `${(base / ms.pack).toFixed(1)}x` : "-";
      rows.push([c.name, backend, ...modes.map((m) => result[m]), speedup]);
      console.error(`done: ${c.name} on ${backend}`);
    }
    if (process.argv.includes("--profile")) {
      await useBackend(backend, { kernelPack: true });
      await profileStep(CASES[arg("profile", "transformer")] ?? CASES.transformer);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log("\nms per step (median; runs in parentheses)");
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join("  "));
}

if (require.main === module) main().catch((err) => {
  console.error(err);
  process.exit(1);
});
