// npm run bench [-- --out out/bench.json --repeats 10 --backends node,wasm --models lstm,conv --threads 2
//                   --no-torch --compare-plain --profile]
//
// Median milliseconds per training step (after warm-up) of the reference models (lib/models/reference.ts) on
// every available backend, and the same models in PyTorch on the same machine in the same run (bench/torch_ref.py
// with Debian's python3-torch, OpenBLAS, the same number of threads). Prints a table with the ratio ours /
// PyTorch and both sides' parameter counts (the same model should have the same count), and writes the records
// as JSON.
//
// Wall time is the goal's measure; CPU time (process time, all threads) is printed beside it because it is far
// less disturbed by other work on a shared machine. --compare-plain also times each model with the fused
// kernels off (NLU_FUSED=off: the plain tfjs ops), and --profile prints where one step's time goes, per kernel.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { useBackend, BackendName } from "../lib/engine";
import { withFusedKernels } from "../lib/engine/fused";
import { referenceModel, REFERENCE_NAMES } from "../lib/models/reference";
import { Trainer } from "../lib/train/trainer";
import { profileStep, StepProfile } from "./profile";
import { forEachOption } from "./options";

interface Args {
  out: string;
  repeats: number;
  backends: BackendName[];
  models: string[];
  torch: boolean;
  threads: number;
  comparePlain: boolean;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    out: "out/bench.json", repeats: 10, backends: ["node-gpu", "node", "webgpu", "wasm", "cpu"], models: [...REFERENCE_NAMES],
    torch: true, threads: Math.min(2, os.cpus().length), comparePlain: false, profile: false,
  };
  const usage =
    `--out FILE, --repeats N, --backends node,wasm, --models ${REFERENCE_NAMES.join(",")}, --threads N, --no-torch, --compare-plain, --profile`;
  forEachOption(argv, usage, (a, value) => {
    if (a === "--out") args.out = value();
    else if (a === "--repeats") args.repeats = Number(value());
    else if (a === "--backends") args.backends = value().split(",") as BackendName[];
    else if (a === "--models") args.models = value().split(",");
    else if (a === "--threads") args.threads = Number(value());
    else if (a === "--no-torch") args.torch = false;
    else if (a === "--compare-plain") args.comparePlain = true;
    else if (a === "--profile") args.profile = true;
    else return false;
    return true;
  });
  if (!(Number.isInteger(args.repeats) && args.repeats >= 1)) throw new Error(`--repeats (${args.repeats}) must be a positive integer`);
  const unknown = args.models.filter((m) => !REFERENCE_NAMES.includes(m));
  if (unknown.length) throw new Error(`--models: unknown ${unknown.join(", ")}; have ${REFERENCE_NAMES.join(", ")}`);
  return args;
}

type Times = { wall: number; cpu: number };
/** The model column's width: the longest reference model name. */
const NAME_WIDTH = Math.max(...REFERENCE_NAMES.map((n) => n.length));
/** PyTorch's times per model, with its parameter count (to check the two models are the same size). */
type TorchTimes = Times & { params: number };

/** Median wall and CPU milliseconds per call of `fn`, after `warmup` untimed calls. */
function medianTimes(fn: () => unknown, warmup: number, repeats: number): Times {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  return { wall: median(wall), cpu: median(cpu) };
}

/** PyTorch's times per model, or a reason they could not be measured. */
function torchTimes(args: Args): Record<string, TorchTimes> | string {
  if (!args.torch) return "skipped (--no-torch)";
  const candidates = [process.env.NLU_TORCH_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean) as string[];
  const python = candidates.find((p) => spawnSync(p, ["-c", "import torch"], { encoding: "utf8" }).status === 0);
  if (!python) {
    return "PyTorch not found (tried " + candidates.join(", ") + "): install it with `sudo apt-get install python3-torch libopenblas0-pthread` or set NLU_TORCH_PYTHON";
  }
  const r = spawnSync(python, [path.join(__dirname, "torch_ref.py"), String(args.threads), String(args.repeats), args.models.join(",")], {
    encoding: "utf8",
    // One BLAS thread per torch thread: OpenBLAS's own pool would fight torch's intra-op pool for the cores.
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: String(args.threads) },
  });
  if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`;
  const parsed = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  console.log(`PyTorch ${parsed.torch}, ${parsed.threads} threads, ${python}`);
  return parsed.models;
}

interface Row {
  model: string;
  backend: string;
  fused: boolean;
  msPerStep: number;
  cpuMsPerStep: number;
  params: number;
  profile?: StepProfile;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // TensorFlow sizes its thread pools from these when the native backend loads: the same count as PyTorch.
  process.env.TF_NUM_INTRAOP_THREADS ??= String(args.threads);
  process.env.TF_NUM_INTEROP_THREADS ??= "1";
  console.log(`bench: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${args.threads} threads, batch 32, Adam, median of ${args.repeats} steps after 3 warm-up steps`);
  const loadBefore = os.loadavg()[0];
  if (loadBefore > 0.5) {
    // PyTorch's OpenMP threads spin-wait: with another process on a core its times grow several-fold, ours less.
    console.log(`WARNING: load average ${loadBefore.toFixed(1)} — other work is running; wall-time ratios are unreliable (compare CPU times, or use a quiet machine).`);
  }
  const rows: Row[] = [];
  for (const backend of args.backends) {
    try {
      await useBackend(backend);
    } catch (e) {
      console.log(`skip ${backend}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    for (const name of args.models) {
      for (const fused of args.comparePlain ? [true, false] : [true]) {
        const ref = referenceModel(name, 0);
        const trainer = new Trainer(ref.model, { progress: false, plot: false });
        const batch = ref.batch(32, 1);
        const t = withFusedKernels(fused, () => medianTimes(() => trainer.trainBatch(batch), 3, args.repeats));
        const profile = args.profile ? await profileStep(() => withFusedKernels(fused, () => trainer.trainBatch(batch))) : undefined;
        const params = ref.model.paramCount();
        ref.model.dispose();
        trainer.dispose();
        rows.push({ model: name, backend, fused, msPerStep: t.wall, cpuMsPerStep: t.cpu, params, profile });
        const label = `${backend}${fused ? "" : " (plain)"}`;
        console.log(`  ${label.padEnd(16)} ${name.padEnd(NAME_WIDTH)} ${t.wall.toFixed(1)} ms/step (CPU ${t.cpu.toFixed(1)} ms), ${params} parameters`);
        if (profile) console.log(profile.table);
      }
    }
  }
  const torch = torchTimes(args);
  if (typeof torch === "string") console.log(torch);
  const loadAfter = os.loadavg()[0];
  const records = rows.map((r) => {
    const t = typeof torch === "string" ? null : torch[r.model] ?? null;
    return {
      ...r,
      profile: r.profile?.kernels,
      torchMsPerStep: t?.wall ?? null,
      torchCpuMsPerStep: t?.cpu ?? null,
      torchParams: t?.params ?? null,
      ratio: t ? r.msPerStep / t.wall : null,
      cpuRatio: t ? r.cpuMsPerStep / t.cpu : null,
      threads: args.threads,
      loadAverage: loadBefore,
      loadAverageAfter: loadAfter,
    };
  });
  console.log(`\nload average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (1-minute)`);
  console.log(`${"model".padEnd(NAME_WIDTH)} backend           ours ms   PyTorch ms   ours / PyTorch   | CPU: ours ms  PyTorch ms  ratio | params: ours  PyTorch`);
  const f = (x: number | null, digits = 1) => (x === null ? "-" : x.toFixed(digits));
  for (const r of records) {
    const label = `${r.backend}${r.fused ? "" : " (plain)"}`;
    console.log(
      `${r.model.padEnd(NAME_WIDTH)} ${label.padEnd(16)} ${f(r.msPerStep).padStart(8)} ${f(r.torchMsPerStep).padStart(12)} ` +
        `${(r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`).padStart(16)}   | ${f(r.cpuMsPerStep).padStart(12)} ${f(r.torchCpuMsPerStep).padStart(11)} ` +
        `${(r.cpuRatio === null ? "-" : `${r.cpuRatio.toFixed(2)}x`).padStart(6)} | ${String(r.params).padStart(12)} ${String(r.torchParams ?? "-").padStart(8)}`,
    );
  }
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(records, null, 2) + "\n");
  console.log(`\nwrote ${args.out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
