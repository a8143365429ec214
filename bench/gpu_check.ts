// npm run gpu-check [-- --backends webgpu,node-gpu,wasm --steps 10 --agree 3 --out out/gpu-check.json
//                       --baseline bench/gpu_baseline.json --write-baseline]
//
// Does a GPU path train the course's models, with the same numbers as the CPU, and how much faster? For each
// backend that loads, each model below is built from the same seed and trained on the same batches: the losses of
// the first `--agree` Adam steps are compared with the CPU's (float32 tolerance), then the median ms per step of
// `--steps` more is timed. The CPU side is both the CPU backends of this run and bench/gpu_baseline.json (losses
// and ms per step of the default 2-core CPU path, native TensorFlow, measured with --write-baseline on the course's
// 2-core machine). From the GPU/CPU ratios it projects each notebook's full mode (CPU minutes measured, README).
//
// scripts/gpu-check.sh packs this (bundled) with Node, Dawn and a Vulkan loader for a GPU machine with no network.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BackendName, useBackend } from "../lib/engine";
import { REFERENCE_MODELS } from "../lib/models/reference";
import { TransformerClassifier } from "../lib/models/transformer_classifier";
import { ElectraModel } from "../lib/models/electra";
import { Rng } from "../lib/random";
import { Trainer } from "../lib/train/trainer";
import { Trainable, TensorBatch } from "../lib/train/model";
import { forEachOption } from "./options";

interface CheckModel {
  description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model has its own example type
  build(): Trainable<any, TensorBatch>;
  /** A batch of random examples; `scale` multiplies the batch size (the GPU's advantage grows with it). */
  batch(seed: number, scale: number): unknown[];
}

const randomIds = (rng: Rng, vocab: number, length: number) => Array.from({ length }, () => 7 + rng.int(vocab - 7));
/** A reference model (lib/models/reference.ts) at its own sizes; its batch of 32 times `scale`. */
const fromReference = (name: string): CheckModel => {
  const spec = REFERENCE_MODELS[name];
  return { description: spec.description, build: () => spec.build(0), batch: (seed, scale) => spec.batch(32 * scale, seed) };
};

/** The models checked, with dropout 0 so every backend computes the same function. */
export const CHECK_MODELS: Record<string, CheckModel> = {
  "transformer-mlm": fromReference("transformer-mlm"),
  // Notebook 03's transformer classifier at its full-mode size (SST-2: vocab ~8k after min count 2, batches of 64).
  "nb03-transformer": {
    description: "notebook 03's transformer classifier (full mode): width 128, 4 heads, 2 layers, FFN 512, mean pooling, vocab 8000, batch 64 x 40 tokens",
    build: () => new TransformerClassifier({ vocabSize: 8000, width: 128, heads: 4, layers: 2, mlpRatio: 4, dropout: 0, pooling: "mean", maxLen: 60, seed: 1 }),
    batch: (seed, scale) => {
      const rng = new Rng(seed);
      return Array.from({ length: 64 * scale }, () => ({ ids: randomIds(rng, 8000, 40), label: rng.int(2) }));
    },
  },
  // Notebook 04's ELECTRA at its full-mode size (¼-width generator, ALiBi, 25% masking, 64-token windows).
  "nb04-electra": {
    description: "notebook 04's ELECTRA (full mode): width 128, 4 heads, 2 layers, 1/4 generator, ALiBi, 25% masked, vocab 8000, batch 32 x 64 tokens",
    build: () => new ElectraModel({ objective: "electra", vocabSize: 8000, width: 128, heads: 4, layers: 2, mlpRatio: 4, maxLen: 64, positions: "alibi", maskRate: 0.25, dropout: 0, seed: 0 }),
    batch: (seed, scale) => {
      const rng = new Rng(seed);
      return Array.from({ length: 32 * scale }, () => ({ ids: randomIds(rng, 8000, 63) }));
    },
  },
  lstm: fromReference("lstm"),
  conv: fromReference("conv"),
  "rnn-seq2seq": fromReference("rnn-seq2seq"),
  "transformer-seq2seq": fromReference("transformer-seq2seq"),
};

/**
 * Full-mode wall minutes of each notebook on the course's 2-core machine (README, measured) and the model whose
 * step time stands for its training. A projection, not a measurement: data loading and read-outs scale differently.
 */
export const NOTEBOOK_FULL_MINUTES: { notebook: string; cpuMinutes: number; model: string }[] = [
  { notebook: "01_rnn_baselines", cpuMinutes: 11.9, model: "lstm" },
  { notebook: "03_self_attention (transformer)", cpuMinutes: 0, model: "nb03-transformer" },
  { notebook: "04_electra", cpuMinutes: 86.4, model: "nb04-electra" },
  { notebook: "05_seq2seq", cpuMinutes: 54, model: "rnn-seq2seq" },
  { notebook: "06_t5_bart", cpuMinutes: 49.6, model: "transformer-seq2seq" },
  { notebook: "07_distillation (+ teachers)", cpuMinutes: 58, model: "lstm" },
];

interface Args {
  backends: BackendName[];
  models: string[];
  steps: number;
  agree: number;
  tolerance: number;
  out: string;
  baseline: string;
  writeBaseline: boolean;
  scales: number[];
  /** tfjs environment flags set after each backend starts (e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=200). */
  tfFlags: Record<string, number | boolean>;
}

/** "A=1,B=false" -> { A: 1, B: false } (tfjs flags are numbers or booleans). */
function parseTfFlags(text: string): Record<string, number | boolean> {
  const flags: Record<string, number | boolean> = {};
  for (const item of text.split(",").filter(Boolean)) {
    const [name, raw] = item.split("=");
    const value = raw === "true" ? true : raw === "false" ? false : Number(raw);
    if (!name || raw === undefined || (typeof value === "number" && !Number.isFinite(value))) {
      throw new Error(`--tf-flags: "${item}" is not NAME=number or NAME=true|false`);
    }
    flags[name] = value;
  }
  return flags;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    backends: ["node-gpu", "webgpu", "wasm"], models: Object.keys(CHECK_MODELS), steps: 10, agree: 3, tolerance: 2e-3,
    out: "out/gpu-check.json", baseline: path.join(__dirname, "gpu_baseline.json"), writeBaseline: false, scales: [1], tfFlags: {},
  };
  const usage = "--backends, --models, --steps N, --agree N, --tolerance X, --batch-scale 1,8, --tf-flags NAME=VALUE,..., --out FILE, --baseline FILE, --write-baseline";
  forEachOption(argv, usage, (a, value) => {
    if (a === "--backends") args.backends = value().split(",") as BackendName[];
    else if (a === "--models") args.models = value().split(",");
    else if (a === "--steps") args.steps = Number(value());
    else if (a === "--agree") args.agree = Number(value());
    else if (a === "--tolerance") args.tolerance = Number(value());
    else if (a === "--out") args.out = value();
    else if (a === "--baseline") args.baseline = value();
    else if (a === "--write-baseline") args.writeBaseline = true;
    else if (a === "--batch-scale") args.scales = value().split(",").map(Number);
    else if (a === "--tf-flags") args.tfFlags = parseTfFlags(value());
    else return false;
    return true;
  });
  const unknown = args.models.filter((m) => !(m in CHECK_MODELS));
  if (unknown.length) throw new Error(`--models: unknown ${unknown.join(", ")}; have ${Object.keys(CHECK_MODELS).join(", ")}`);
  if (!args.scales.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`--batch-scale (${args.scales.join(",")}) must be positive integers, e.g. 1,8`);
  for (const k of ["steps", "agree"] as const) if (!(Number.isInteger(args[k]) && args[k] >= 1)) throw new Error(`--${k} (${args[k]}) must be a positive integer`);
  return args;
}

interface Row {
  backend: string;
  detail: string;
  model: string;
  /** Batch size multiplier (1 = the model's reference batch). */
  scale: number;
  /** Kernels one training step runs (tf.profile). */
  kernels: number;
  /** Losses of the first `agree` steps (same init, same batches on every backend). */
  losses: number[];
  msPerStep: number;
  /** The first step's wall ms (on a GPU: shader compilation and uploads). */
  firstStepMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function measure(backend: string, detail: string, name: string, scale: number, args: Args): Promise<Row> {
  const spec = CHECK_MODELS[name];
  const model = spec.build();
  const trainer = new Trainer(model, { progress: false, plot: false, learningRate: 1e-3 });
  const losses: number[] = [];
  let firstStepMs = 0;
  for (let s = 0; s < args.agree; s++) {
    const t0 = performance.now();
    losses.push(trainer.trainBatch(spec.batch(100 + s, scale) as never[]).loss);
    if (s === 0) firstStepMs = performance.now() - t0;
  }
  const batch = spec.batch(1, scale) as never[];
  const kernels = (await tf.profile(() => void trainer.trainBatch(batch))).kernels.length; // also the warm-up step
  const times: number[] = [];
  const before = tf.memory().numTensors;
  for (let s = 0; s < args.steps; s++) {
    const t0 = performance.now();
    trainer.trainBatch(batch); // returns after the loss is read back: the step has run on the device
    times.push(performance.now() - t0);
  }
  const leaked = tf.memory().numTensors - before;
  trainer.dispose();
  model.dispose();
  if (leaked !== 0) throw new Error(`${name} on ${backend}: ${leaked} tensors left after ${args.steps} steps`);
  return { backend, detail, model: name, scale, kernels, losses, msPerStep: median(times), firstStepMs };
}

/** Largest relative difference between two loss sequences. */
export function maxRelativeDifference(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(b[i])));
  return worst;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.env.TF_NUM_INTRAOP_THREADS ??= "2";
  process.env.TF_NUM_INTEROP_THREADS ??= "1";
  console.log(`gpu-check: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, ${args.steps} timed steps after ${args.agree} compared + 1 warm-up`);
  const rows: Row[] = [];
  const problems: string[] = [];
  for (const backend of args.backends) {
    let detail = "";
    try {
      detail = (await useBackend(backend)).detail;
    } catch (e) {
      console.log(`skip ${backend}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    for (const [flag, value] of Object.entries(args.tfFlags)) tf.env().set(flag, value);
    const flagText = Object.keys(args.tfFlags).length ? ` [${Object.entries(args.tfFlags).map(([k, v]) => `${k}=${v}`).join(", ")}]` : "";
    console.log(`${backend}${detail ? ` (${detail})` : ""}${flagText}:`);
    for (const scale of args.scales) {
      for (const name of args.models) {
        const label = `${name}${scale > 1 ? ` x${scale}` : ""}`;
        try {
          const row = await measure(backend, detail, name, scale, args);
          rows.push(row);
          console.log(`  ${label.padEnd(24)} ${row.msPerStep.toFixed(1).padStart(8)} ms/step, ${row.kernels} kernels (first step ${row.firstStepMs.toFixed(0)} ms), losses ${row.losses.map((l) => l.toFixed(5)).join(" ")}`);
        } catch (e) {
          problems.push(`${label} on ${backend}: ${(e as Error).message.split("\n")[0]}`);
          console.log(`  ${label.padEnd(24)} FAILED: ${(e as Error).message.split("\n").slice(0, 3).join(" | ")}`);
        }
      }
    }
  }
  let baseline: Row[] = fs.existsSync(args.baseline) ? JSON.parse(fs.readFileSync(args.baseline, "utf8")).rows : [];
  if (args.writeBaseline) {
    // Rows measured now replace the same model and scale; the others are kept.
    baseline = [...baseline.filter((b) => !rows.some((r) => r.model === b.model && r.scale === (b.scale ?? 1))), ...rows];
    const meta = { measured: new Date().toISOString().slice(0, 10), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadAverage: os.loadavg()[0], threads: process.env.TF_NUM_INTRAOP_THREADS };
    fs.writeFileSync(args.baseline, JSON.stringify({ ...meta, rows: baseline }, null, 2) + "\n");
    console.log(`wrote ${args.baseline}`);
  }
  const gpu = rows.filter((r) => r.backend === "webgpu" || r.backend === "node-gpu");
  const cpuHere = rows.filter((r) => !(r.backend === "webgpu" || r.backend === "node-gpu"));
  const verdicts = gpu.map((g) => {
    const base = baseline.find((b) => b.model === g.model && (b.scale ?? 1) === g.scale);
    const here = cpuHere.find((c) => c.model === g.model && c.scale === g.scale);
    const diffBase = base ? maxRelativeDifference(g.losses, base.losses) : null;
    const diffHere = here ? maxRelativeDifference(g.losses, here.losses) : null;
    const agree = [diffBase, diffHere].every((d) => d === null || d <= args.tolerance) && (diffBase !== null || diffHere !== null);
    if (!agree) problems.push(`${g.model} x${g.scale} on ${g.backend}: losses differ from the CPU's (relative ${diffBase?.toExponential(1)} vs 2-core baseline, ${diffHere?.toExponential(1)} vs ${here?.backend ?? "-"} here; tolerance ${args.tolerance})`);
    return { backend: g.backend, model: g.model, scale: g.scale, kernels: g.kernels, gpuMs: g.msPerStep, baselineMs: base?.msPerStep ?? null, speedup: base ? base.msPerStep / g.msPerStep : null, cpuHereMs: here?.msPerStep ?? null, diffBase, diffHere, agree };
  });
  if (verdicts.length) {
    console.log(`\nGPU vs the 2-core CPU path (${baseline[0]?.backend ?? "no baseline"}, bench/gpu_baseline.json) and vs the CPU backend in this run; losses of the first ${args.agree} steps:`);
    console.log(`${"model".padEnd(20)} batch backend   GPU ms  2-core ms  speed-up | here ms | loss diff (2-core, here) agree | kernels/step`);
    for (const v of verdicts) {
      const f = (x: number | null, d = 1) => (x === null ? "-" : x.toFixed(d));
      const e = (x: number | null) => (x === null ? "-" : x.toExponential(1));
      console.log(`${v.model.padEnd(20)} ${("x" + v.scale).padStart(5)} ${v.backend.padEnd(8)} ${f(v.gpuMs).padStart(7)} ${f(v.baselineMs).padStart(10)} ${(v.speedup === null ? "-" : v.speedup.toFixed(1) + "x").padStart(9)} | ${f(v.cpuHereMs).padStart(7)} | ${e(v.diffBase).padStart(8)} ${e(v.diffHere).padStart(8)}  ${(v.agree ? "yes" : "NO").padEnd(5)} | ${v.kernels}`);
    }
    console.log("\nProjected full mode on this GPU (2-core CPU minutes x GPU/CPU step-time ratio of the model that stands for it):");
    for (const nb of NOTEBOOK_FULL_MINUTES) {
      for (const v of verdicts.filter((x) => x.model === nb.model && x.scale === 1 && x.speedup !== null)) {
        if (nb.cpuMinutes > 0) console.log(`  ${nb.notebook.padEnd(30)} ${v.backend.padEnd(8)} ${nb.cpuMinutes.toFixed(1).padStart(6)} min -> ${(nb.cpuMinutes / (v.speedup as number)).toFixed(1).padStart(6)} min (${(v.speedup as number).toFixed(1)}x)`);
      }
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify({ rows, verdicts, problems }, null, 2) + "\n");
  console.log(`\nwrote ${args.out}`);
  if (problems.length) {
    console.log(`PROBLEMS:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
