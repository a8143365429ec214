// Runs the Python test suites in test/kernel/ (the kernel against the Jupyter protocol) and test/browser/
// (JupyterLab in Chromium) with the project's .venv/ and its Jupyter, as npm run test:kernel / test:browser do.
// Usage: node scripts/run-python-tests.mjs kernel|browser [unittest options, e.g. -k Interrupt]
import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const [suite, ...args] = process.argv.slice(2);
const needs = { kernel: "jupyter_kernel_test", browser: "playwright" };
if (!(suite in needs)) {
  console.error(`usage: node scripts/run-python-tests.mjs ${Object.keys(needs).join("|")} [unittest options]`);
  process.exit(2);
}
const python = join(root, ".venv", "bin", "python");
const fix = "run ./course setup --tests (./course test does it), then try again";
if (!existsSync(python) || !existsSync(join(root, ".venv", "share", "jupyter", "kernels", "tslab", "kernel.json"))) {
  console.error(`test:${suite}: Jupyter is not set up in this checkout (.venv/ with the tslab kernel): ${fix}.`);
  process.exit(1);
}
if (spawnSync(python, ["-c", `import ${needs[suite]}`]).status !== 0) {
  console.error(`test:${suite}: ${needs[suite]} is missing from .venv/ (it is in requirements-test.txt): ${fix}.`);
  process.exit(1);
}
const dir = join(root, "test", suite);
const started = Date.now();
const r = spawnSync(python, ["-m", "unittest", "discover", "-s", dir, "-t", dir, "-p", "test_*.py", "-v", ...args], {
  cwd: dir,
  stdio: "inherit",
  env: {
    ...process.env,
    NLU_MODE: process.env.NLU_MODE ?? "quick",
    // Only the project's Jupyter: its kernelspec and configuration (as scripts/notebooks.mjs does).
    JUPYTER_PATH: join(root, ".venv", "share", "jupyter"),
    JUPYTER_PREFER_ENV_PATH: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
  },
});
console.log(`test:${suite}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
