// npm run bench [-- --out out/bench.json --repeats 10 --backends wasm,cpu --no-torch]
//
// Median milliseconds per training step (after warm-up) of the three reference models (lib/models/reference.ts)
// on every available backend, and the same models in PyTorch on the same machine in the same run
// (bench/torch_ref.py with Debian's python3-torch, OpenBLAS, the same number of threads). Prints a table with
// the ratio ours / PyTorch and writes the records as JSON.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { useBackend, BackendName } from "../lib/engine";
import { referenceModel, REFERENCE_NAMES, ReferenceName } from "../lib/models/reference";
import { Trainer } from "../lib/train/trainer";
import { medianMs } from "../lib/train/timing";

interface Args {
  out: string;
  repeats: number;
  backends: BackendName[];
  torch: boolean;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { out: "out/bench.json", repeats: 10, backends: ["node-gpu", "node", "wasm", "cpu"], torch: true, threads: Math.min(2, os.cpus().length) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--out") args.out = value();
    else if (a === "--repeats") args.repeats = Number(value());
    else if (a === "--backends") args.backends = value().split(",") as BackendName[];
    else if (a === "--threads") args.threads = Number(value());
    else if (a === "--no-torch") args.torch = false;
    else throw new Error(`unknown option ${a}: use --out FILE, --repeats N, --backends wasm,cpu, --threads N, --no-torch`);
  }
  if (!(Number.isInteger(args.repeats) && args.repeats >= 1)) throw new Error(`--repeats (${args.repeats}) must be a positive integer`);
  return args;
}

/** PyTorch's ms per step for each model, or a reason it could not be measured. */
function torchTimes(args: Args): Record<string, number> | string {
  if (!args.torch) return "skipped (--no-torch)";
  const candidates = [process.env.NLU_TORCH_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean) as string[];
  const python = candidates.find((p) => spawnSync(p, ["-c", "import torch"], { encoding: "utf8" }).status === 0);
  if (!python) {
    return "PyTorch not found (tried " + candidates.join(", ") + "): install it with `sudo apt-get install python3-torch libopenblas0-pthread` or set NLU_TORCH_PYTHON";
  }
  const r = spawnSync(python, [path.join(__dirname, "torch_ref.py"), String(args.threads), String(args.repeats)], {
    encoding: "utf8",
    // One BLAS thread per torch thread: OpenBLAS's own pool would fight torch's intra-op pool for the cores.
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: String(args.threads) },
  });
  if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`;
  const parsed = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  console.log(`PyTorch ${parsed.torch}, ${parsed.threads} threads, ${python}`);
  return parsed;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`bench: ${os.cpus().length} cores (${os.cpus()[0]?.model}), batch 32, Adam, median of ${args.repeats} steps after 3 warm-up steps`);
  const load = os.loadavg()[0];
  if (load > 0.5) {
    // PyTorch's OpenMP threads spin-wait: with another process on a core its times grow several-fold, ours less.
    console.log(`WARNING: load average ${load.toFixed(1)} — other work is running; ratios are unreliable (try --threads 1, or a quiet machine).`);
  }
  const ours: { model: ReferenceName; backend: string; msPerStep: number }[] = [];
  for (const backend of args.backends) {
    try {
      await useBackend(backend);
    } catch (e) {
      console.log(`skip ${backend}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    for (const name of REFERENCE_NAMES) {
      const ref = referenceModel(name, 0);
      const trainer = new Trainer(ref.model, { progress: false, plot: false });
      const batch = ref.batch(32, 1);
      const ms = medianMs(() => trainer.trainBatch(batch), { warmup: 3, repeats: args.repeats });
      ref.model.dispose();
      trainer.dispose();
      ours.push({ model: name, backend, msPerStep: ms });
      console.log(`  ${backend.padEnd(8)} ${name.padEnd(16)} ${ms.toFixed(1)} ms/step`);
    }
  }
  const torch = torchTimes(args);
  if (typeof torch === "string") console.log(torch);
  const records = ours.map((r) => {
    const t = typeof torch === "string" ? null : torch[r.model] ?? null;
    return { ...r, torchMsPerStep: t, ratio: t ? r.msPerStep / t : null, threads: args.threads, loadAverage: load };
  });
  console.log("\nmodel            backend   ours ms   PyTorch ms   ours / PyTorch");
  for (const r of records) {
    const t = r.torchMsPerStep === null ? "-" : r.torchMsPerStep.toFixed(1);
    const ratio = r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`;
    console.log(`${r.model.padEnd(16)} ${r.backend.padEnd(8)} ${r.msPerStep.toFixed(1).padStart(8)} ${t.padStart(12)} ${ratio.padStart(16)}`);
  }
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(records, null, 2) + "\n");
  console.log(`\nwrote ${args.out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
