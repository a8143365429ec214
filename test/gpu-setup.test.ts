// Set-up's GPU path without a GPU: nvidia-smi output is simulated (strings, and a fake nvidia-smi program for
// the command line), the NVIDIA wheel list comes from a committed excerpt of tensorflow 2.18.1's METADATA, and
// the banner detail / "unusable" messages are checked on hand-made stamps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  GpuBuildStamp, compareVersions, driverProblem, gpuLibraryPath, nodeGpuDetail, nodeGpuUnusableReason,
  parseDriverCudaVersion, parseNvidiaSmiQuery, readGpuBuildStamp,
} from "../lib/engine/gpu_info";
import { SmiRun, decideGpu, makeStamp, parseCudaPins, selectCudaWheels } from "../scripts/gpu-setup";

const root = path.resolve(__dirname, "..");
const metadata = fs.readFileSync(path.join(__dirname, "fixtures", "tensorflow-2.18.1-METADATA.txt"), "utf8");

// What an H200 with driver 580 prints (query), and the header line of plain nvidia-smi.
const H200 = "NVIDIA H200, 143771 MiB, 580.65.06\n";
const H200_PLAIN = "| NVIDIA-SMI 580.65.06              Driver Version: 580.65.06      CUDA Version: 13.0     |\n";
const OLD = "Tesla T4, 15360 MiB, 470.82.01\n";
const OLD_PLAIN = "| NVIDIA-SMI 470.82.01    Driver Version: 470.82.01    CUDA Version: 11.4     |\n";
const ok = (stdout: string): SmiRun => ({ stdout, status: 0 });
const enoent = (): SmiRun => ({ stdout: "", status: null, error: Object.assign(new Error("spawnSync nvidia-smi ENOENT"), { code: "ENOENT" }) });

test("nvidia-smi's query output parses into name, MiB and driver; odd lines are rejected with the line quoted", () => {
  assert.deepEqual(parseNvidiaSmiQuery(H200), [{ name: "NVIDIA H200", memoryMiB: 143771, driverVersion: "580.65.06" }]);
  const two = parseNvidiaSmiQuery("NVIDIA A100-SXM4-80GB, 81920 MiB, 535.104.05\r\nNVIDIA A100-SXM4-80GB, 81920 MiB, 535.104.05\r\n");
  assert.equal(two.length, 2);
  assert.equal(two[1].memoryMiB, 81920);
  assert.throws(() => parseNvidiaSmiQuery("NVIDIA H200, [N/A], 580.65.06"), /unexpected line "NVIDIA H200, \[N\/A\], 580.65.06"/);
  assert.throws(() => parseNvidiaSmiQuery("No devices were found"), /unexpected line "No devices were found"/);
  assert.throws(() => parseNvidiaSmiQuery("\n"), /no GPU/);
  assert.equal(parseDriverCudaVersion(H200_PLAIN), "13.0");
  assert.equal(parseDriverCudaVersion("garbage"), undefined);
});

test("driver versions compare numerically, and CUDA 12 needs driver 525.60.13 or newer", () => {
  assert.ok(compareVersions("525.60.13", "525.60.9") > 0);
  assert.ok(compareVersions("470.82.01", "525.60.13") < 0);
  assert.equal(compareVersions("580.65", "580.65.0"), 0);
  assert.equal(driverProblem({ driverVersion: "525.60.13", cuda: "12.5" }), undefined);
  assert.match(driverProblem({ driverVersion: "525.60.12", cuda: "12.5" }) ?? "", /525\.60\.12 is too old for CUDA 12\.5: CUDA 12\.x needs driver >= 525\.60\.13.*NLU_GPU=off/);
  assert.match(driverProblem({ driverVersion: "530.30.02", cuda: "12.5", driverCuda: "11.8" }) ?? "", /supports CUDA up to 11\.8/);
  assert.match(driverProblem({ driverVersion: "999.1", cuda: "14.0" }) ?? "", /no minimum driver is known for CUDA 14\.0/);
});

test("set-up's decision: no driver or a failing nvidia-smi skips quietly; NLU_GPU=off skips before looking", () => {
  const none = decideGpu({ env: {}, query: enoent(), cuda: "12.5" });
  assert.equal(none.action, "skip");
  assert.match(none.message, /nvidia-smi not found.*nothing GPU-related downloaded/);
  const failing = decideGpu({
    env: {}, cuda: "12.5",
    query: { stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", status: 9 },
  });
  assert.equal(failing.action, "skip");
  assert.match(failing.message, /couldn't communicate with the NVIDIA driver/);
  const off = decideGpu({ env: { NLU_GPU: "off" }, query: ok(H200), cuda: "12.5" });
  assert.deepEqual([off.action, off.message], ["skip", "skipped (NLU_GPU=off)"]);
  const bad = decideGpu({ env: { NLU_GPU: "maybe" }, query: ok(H200), cuda: "12.5" });
  assert.equal(bad.action, "unusable");
  assert.match(bad.message, /NLU_GPU=maybe is not understood: NLU_GPU=off skips/);
});

test("set-up's decision: an H200 on driver 580 / CUDA 13.0 builds; an old driver or malformed output is unusable, with the fix", () => {
  const h200 = decideGpu({ env: {}, query: ok(H200), plain: ok(H200_PLAIN), cuda: "12.5" });
  assert.equal(h200.action, "build");
  assert.equal(h200.driverCuda, "13.0");
  assert.equal(h200.message, "NVIDIA H200 (driver 580.65.06, CUDA 13.0): building tfjs-node-gpu against CUDA 12.5");
  const old = decideGpu({ env: {}, query: ok(OLD), plain: ok(OLD_PLAIN), cuda: "12.5" });
  assert.equal(old.action, "unusable");
  assert.match(old.message, /Tesla T4 \(driver 470\.82\.01, CUDA 11\.4\): NVIDIA driver 470\.82\.01 is too old for CUDA 12\.5.*>= 525\.60\.13.*Update the NVIDIA driver/);
  const garbled = decideGpu({ env: {}, query: ok("Failed to initialize NVML: Driver/library version mismatch\n"), cuda: "12.5" });
  assert.equal(garbled.action, "unusable");
  assert.match(garbled.message, /unexpected line "Failed to initialize NVML: Driver\/library version mismatch".*GPU build skipped/);
});

test("the NVIDIA wheels come from TensorFlow 2.18.1's METADATA pins; CUDA 12.5 and cuDNN 9.3 follow from them", () => {
  const pins = parseCudaPins(metadata);
  assert.equal(pins.length, 12);
  assert.deepEqual(pins.find((p) => p.name === "nvidia-cudnn-cu12"), { name: "nvidia-cudnn-cu12", version: "9.3.0.75" });
  assert.deepEqual(pins.find((p) => p.name === "nvidia-cufft-cu12"), { name: "nvidia-cufft-cu12", version: "11.2.3.61" });
  const sel = selectCudaWheels(pins);
  assert.equal(sel.cuda, "12.5");
  assert.equal(sel.cudnn, "9.3");
  assert.deepEqual(sel.download.map((p) => p.name).sort(), [
    "nvidia-cublas-cu12", "nvidia-cuda-cupti-cu12", "nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12",
    "nvidia-cufft-cu12", "nvidia-cusolver-cu12", "nvidia-cusparse-cu12", "nvidia-nvjitlink-cu12",
  ]);
  assert.deepEqual(sel.skipped.map((s) => s.pin.name).sort(), ["nvidia-cuda-nvcc-cu12", "nvidia-curand-cu12", "nvidia-nccl-cu12"]);
  // Other METADATA spellings: parenthesised (old setuptools) and double quotes.
  assert.deepEqual(parseCudaPins('Requires-Dist: nvidia-cudnn-cu11 (==8.6.0.163) ; extra == "and-cuda"'), [{ name: "nvidia-cudnn-cu11", version: "8.6.0.163" }]);
  assert.throws(() => parseCudaPins("Requires-Dist: nvidia-cudnn-cu12 >=9 ; extra == 'and-cuda'"), /not an exact "==version"/);
  assert.throws(() => parseCudaPins("Name: tensorflow-cpu\nRequires-Dist: numpy <2.1.0\n"), /no "Requires-Dist: nvidia-/);
  assert.throws(() => selectCudaWheels(pins.filter((p) => !p.name.startsWith("nvidia-cudnn"))), /pins no nvidia-cudnn-cu\* wheel/);
});

/** A finished build's deps/ in a temp folder: nvidia/<lib>/lib with a .so each (or none). */
function fakeDeps(libs: string[]): string {
  const deps = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-deps-"));
  for (const l of libs) {
    fs.mkdirSync(path.join(deps, "nvidia", l, "lib"), { recursive: true });
    fs.writeFileSync(path.join(deps, "nvidia", l, "lib", `lib${l}.so.12`), "");
  }
  fs.mkdirSync(path.join(deps, "nvidia", "empty", "lib"), { recursive: true }); // headers-only wheels have no .so
  return deps;
}

const stampOf = (over: Partial<GpuBuildStamp> = {}): GpuBuildStamp => ({
  gpus: [{ name: "NVIDIA H200", memoryMiB: 143771, driverVersion: "580.65.06" }],
  tensorflow: "2.18.1", cuda: "12.5", cudnn: "9.3", wheels: ["nvidia-cudnn-cu12==9.3.0.75"],
  libraryDirs: ["/x/nvidia/cublas/lib", "/x/nvidia/cudnn/lib"], ...over,
});

test("the stamp lists the library folders that hold shared libraries, and reads back", () => {
  const deps = fakeDeps(["cudnn", "cublas"]);
  const gpus = parseNvidiaSmiQuery(H200);
  const stamp = makeStamp({ metadata, depsDir: deps, tensorflow: "2.18.1", gpus });
  assert.deepEqual(stamp.libraryDirs, [path.join(deps, "nvidia", "cublas", "lib"), path.join(deps, "nvidia", "cudnn", "lib")]);
  assert.equal(stamp.wheels.length, 9);
  assert.ok(stamp.wheels.includes("nvidia-cuda-runtime-cu12==12.5.82"));
  const file = path.join(deps, "gpu-build.json");
  fs.writeFileSync(file, JSON.stringify(stamp));
  assert.deepEqual(readGpuBuildStamp(file), stamp);
  assert.equal(readGpuBuildStamp(path.join(deps, "absent.json")), undefined);
  fs.writeFileSync(file, JSON.stringify({ ...stamp, libraryDirs: undefined }));
  assert.throws(() => readGpuBuildStamp(file), /lacks the list "libraryDirs"; rebuild it with \.\/course setup/);
  fs.writeFileSync(file, "{");
  assert.throws(() => readGpuBuildStamp(file), /is not valid JSON/);
  fs.rmSync(deps, { recursive: true });
});

test("the banner detail names the GPU, its memory, CUDA and cuDNN", () => {
  assert.equal(nodeGpuDetail(stampOf()), "NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3");
  const two = stampOf({ gpus: [stampOf().gpus[0], stampOf().gpus[0]] });
  assert.equal(nodeGpuDetail(two), "2× NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3");
  assert.equal(nodeGpuDetail(stampOf({ gpus: [] })), "no GPU seen at build time, CUDA 12.5, cuDNN 9.3");
  assert.match(nodeGpuDetail(undefined), /run \.\/course setup on a machine with an NVIDIA driver/);
});

test("node-gpu requested but unusable: each cause gets its own message and fix", () => {
  const all = () => true;
  assert.match(nodeGpuUnusableReason({ stamp: undefined }) ?? "", /no GPU build: run \.\/course setup on a machine with an NVIDIA driver.*NLU_BACKEND=node/);
  assert.match(
    nodeGpuUnusableReason({ stamp: stampOf(), exists: (p) => !p.includes("cudnn") }) ?? "",
    /CUDA libraries are missing \(\/x\/nvidia\/cudnn\/lib; removed node_modules\?\): run \.\/course setup/,
  );
  assert.match(nodeGpuUnusableReason({ stamp: stampOf({ libraryDirs: [] }), exists: all }) ?? "", /lists no CUDA library folders/);
  assert.match(nodeGpuUnusableReason({ stamp: stampOf(), exists: all, nvidiaSmi: new Error("spawnSync nvidia-smi ENOENT") }) ?? "", /no NVIDIA driver answers/);
  assert.match(nodeGpuUnusableReason({ stamp: stampOf(), exists: all, nvidiaSmi: OLD }) ?? "", /470\.82\.01 is too old for CUDA 12\.5/);
  assert.match(nodeGpuUnusableReason({ stamp: stampOf(), exists: all, nvidiaSmi: "No devices were found" }) ?? "", /unexpected line/);
  assert.equal(nodeGpuUnusableReason({ stamp: stampOf(), exists: all, nvidiaSmi: H200 }), undefined);
  assert.equal(nodeGpuUnusableReason({ stamp: stampOf(), exists: all }), undefined);
});

test("LD_LIBRARY_PATH puts the stamp's folders first, once; without a GPU build it is left alone", () => {
  assert.equal(gpuLibraryPath(stampOf(), undefined), "/x/nvidia/cublas/lib:/x/nvidia/cudnn/lib");
  assert.equal(gpuLibraryPath(stampOf(), "/opt/a:/x/nvidia/cudnn/lib"), "/x/nvidia/cublas/lib:/x/nvidia/cudnn/lib:/opt/a");
  assert.equal(gpuLibraryPath(undefined, "/opt/a"), "/opt/a");
  assert.equal(gpuLibraryPath(undefined, undefined), undefined);
});

/** Run scripts/gpu-setup.ts with a simulated nvidia-smi (a shell script printing `query` / `plain`). */
function cli(args: string[], smi: { query?: string; plain?: string; exit?: number } | "missing", env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-smi-"));
  let bin = path.join(dir, "no-such-nvidia-smi");
  if (smi !== "missing") {
    bin = path.join(dir, "nvidia-smi");
    fs.writeFileSync(bin, [
      "#!/bin/sh",
      `if [ "$1" = "${"--query-gpu=name,memory.total,driver_version"}" ]; then printf '%s' '${smi.query ?? ""}'; else printf '%s' '${smi.plain ?? ""}'; fi`,
      `exit ${smi.exit ?? 0}`,
    ].join("\n"), { mode: 0o755 });
  }
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "gpu-setup.ts"), ...args], {
    cwd: root, encoding: "utf8", env: { ...process.env, NLU_GPU: "", NLU_NVIDIA_SMI: bin, ...env },
  });
  fs.rmSync(dir, { recursive: true });
  return r;
}

test("gpu-setup.ts detect: exit 0 build, 10 skip, 11 unusable, one line each, with a simulated nvidia-smi", () => {
  const h200 = cli(["detect"], { query: H200, plain: H200_PLAIN });
  assert.equal(h200.status, 0, h200.stderr);
  assert.equal(h200.stdout.trim(), "NVIDIA H200 (driver 580.65.06, CUDA 13.0): building tfjs-node-gpu against CUDA 12.5");
  const none = cli(["detect"], "missing");
  assert.equal(none.status, 10);
  assert.match(none.stdout, /nvidia-smi not found/);
  const off = cli(["detect"], { query: H200 }, { NLU_GPU: "off" });
  assert.equal(off.status, 10);
  const old = cli(["detect"], { query: OLD, plain: OLD_PLAIN });
  assert.equal(old.status, 11);
  assert.match(old.stdout, /too old for CUDA 12\.5/);
  const failing = cli(["detect"], { query: "NVIDIA-SMI has failed", exit: 9 });
  assert.equal(failing.status, 10);
  assert.match(failing.stdout, /nvidia-smi failed \(NVIDIA-SMI has failed\)/);
});

test("gpu-setup.ts wheels prints the pins to download; ld-path reads a stamp and is empty without one", () => {
  const w = cli(["wheels", path.join(__dirname, "fixtures", "tensorflow-2.18.1-METADATA.txt")], "missing");
  assert.equal(w.status, 0, w.stderr);
  assert.equal(w.stdout.trim().split("\n").length, 9);
  assert.match(w.stdout, /^nvidia-cudnn-cu12==9\.3\.0\.75$/m);
  assert.match(w.stderr, /not downloading nvidia-nccl-cu12/);
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-pkg-"));
  assert.equal(cli(["ld-path", pkg], "missing").stdout, "\n");
  fs.mkdirSync(path.join(pkg, "deps"));
  fs.writeFileSync(path.join(pkg, "deps", "gpu-build.json"), JSON.stringify(stampOf()));
  assert.equal(cli(["ld-path", pkg], "missing").stdout, "/x/nvidia/cublas/lib:/x/nvidia/cudnn/lib\n");
  fs.rmSync(pkg, { recursive: true });
});

test("gpu-setup.ts exec runs a command with the GPU build's LD_LIBRARY_PATH first, and passes its exit status", () => {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-pkg-"));
  const show = ["exec", "--pkg", pkg, "--", process.execPath, "-e", "console.log(process.env.LD_LIBRARY_PATH ?? '(unset)'); process.exit(3)"];
  const without = cli(show, "missing", { LD_LIBRARY_PATH: "/opt/a" });
  assert.deepEqual([without.status, without.stdout], [3, "/opt/a\n"]);
  fs.mkdirSync(path.join(pkg, "deps"));
  fs.writeFileSync(path.join(pkg, "deps", "gpu-build.json"), JSON.stringify(stampOf()));
  const withGpu = cli(show, "missing", { LD_LIBRARY_PATH: "/opt/a" });
  assert.deepEqual([withGpu.status, withGpu.stdout], [3, "/x/nvidia/cublas/lib:/x/nvidia/cudnn/lib:/opt/a\n"]);
  assert.equal(cli(["detail", pkg], "missing").stdout, "NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3\n");
  fs.rmSync(pkg, { recursive: true });
});

test("native-tensorflow.sh names the fix for an unknown variant and for a missing tfjs-node-gpu", () => {
  const script = path.join(root, "scripts", "native-tensorflow.sh");
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "gpu-proj-"));
  const bad = spawnSync("bash", [script, empty], { encoding: "utf8", env: { ...process.env, NATIVE_TF_VARIANT: "cuda" } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /NATIVE_TF_VARIANT=cuda: use cpu \(tfjs-node\) or gpu \(tfjs-node-gpu\)/);
  const none = spawnSync("bash", [script, empty], { encoding: "utf8", env: { ...process.env, NATIVE_TF_VARIANT: "gpu" } });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /tfjs-node-gpu not found: run 'npm install @tensorflow\/tfjs-node-gpu@4\.22\.0 --ignore-scripts'/);
  fs.rmSync(empty, { recursive: true });
});
