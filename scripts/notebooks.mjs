// The notebook runner: executes notebooks headless through real Jupyter (nbclient, the tslab kernel from the
// project's .venv/) and writes executed copies and offline HTML under out/. Every failing cell fails the run,
// judged from the Jupyter protocol (see scripts/run_notebooks.py for the policy).
//
//   node scripts/notebooks.mjs run [paths...]      # execute (default: every notebook under notebooks/)
//   node scripts/notebooks.mjs export [paths...]   # HTML from the executed copies; executes what is missing/stale
//
// Options: --timeout SECONDS per cell (env NLU_CELL_TIMEOUT, default 900), --out DIR (default out/),
//          --no-html (run only), --full (same as NLU_MODE=full; the default is quick).
// Paths may be notebooks or folders (searched recursively, .ipynb_checkpoints skipped).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const venv = join(root, ".venv");
const python = join(venv, "bin", "python");
const kernelJson = join(venv, "share", "jupyter", "kernels", "tslab", "kernel.json");

function usage(code) {
  console.log(`usage: node scripts/notebooks.mjs run|export [--timeout S] [--out DIR] [--no-html] [--full] [paths...]`);
  process.exit(code);
}

const [action, ...rest] = process.argv.slice(2);
if (action === "-h" || action === "--help") usage(0);
if (action !== "run" && action !== "export") usage(2);

const options = { timeout: process.env.NLU_CELL_TIMEOUT ?? "900", out: join(root, "out"), html: true };
const paths = [];
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === "--timeout") options.timeout = rest[++i];
  else if (a === "--out") options.out = resolve(rest[++i] ?? "");
  else if (a === "--no-html") options.html = false;
  else if (a === "--full") process.env.NLU_MODE = "full";
  else if (a === "-h" || a === "--help") usage(0);
  else if (a.startsWith("--")) {
    console.error(`notebooks: unknown option ${a}`);
    usage(2);
  } else paths.push(a);
}
if (!(Number(options.timeout) > 0)) {
  console.error(`notebooks: --timeout / NLU_CELL_TIMEOUT must be a positive number of seconds, got "${options.timeout}"`);
  process.exit(2);
}

/** Every .ipynb under dir, sorted, skipping Jupyter's checkpoint folders (and `skip`, a folder path). */
function findNotebooks(dir, skip) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === ".ipynb_checkpoints" || name === "node_modules") continue;
    if (skip && join(dir, name) === skip) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...findNotebooks(p, skip));
    else if (name.endsWith(".ipynb")) found.push(p);
  }
  return found;
}

const notebooks = [];
const defaultDir = join(root, "notebooks");
// notebooks/homework/ holds students' working copies of released homework (unanswered tasks throw by design):
// run them by naming them (or that folder), never as part of a folder above it.
const studentCopies = join(defaultDir, "homework");
for (const p of paths.length ? paths : existsSync(defaultDir) ? [defaultDir] : []) {
  if (!existsSync(p)) {
    console.error(`notebooks: ${p} does not exist`);
    process.exit(2);
  }
  if (statSync(p).isDirectory()) notebooks.push(...findNotebooks(p, resolve(p).startsWith(studentCopies) ? undefined : studentCopies));
  else if (p.endsWith(".ipynb")) notebooks.push(resolve(p));
  else {
    console.error(`notebooks: ${p} is not a notebook (.ipynb) or a folder`);
    process.exit(2);
  }
}
if (notebooks.length === 0) {
  console.log(`notebooks: no notebooks found under ${paths.length ? paths.join(", ") : relative(process.cwd(), join(root, "notebooks")) || "."}; nothing to run`);
  process.exit(0);
}

if (!existsSync(python) || !existsSync(kernelJson)) {
  console.error(
    `notebooks: Jupyter is not set up in this checkout (${existsSync(python) ? "no tslab kernelspec in .venv/" : "no .venv/"}).\n` +
      `Run ./course setup (it creates .venv/ with Jupyter and registers the tslab kernel), then try again.`,
  );
  process.exit(1);
}

const r = spawnSync(
  python,
  [
    join(root, "scripts", "run_notebooks.py"),
    action,
    "--root", root,
    "--out", options.out,
    "--timeout", String(options.timeout),
    ...(options.html ? [] : ["--no-html"]),
    ...notebooks,
  ],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      NLU_MODE: process.env.NLU_MODE || "quick",
      // Only the project's Jupyter: its kernelspec wins over any user-level "tslab".
      JUPYTER_PATH: join(venv, "share", "jupyter"),
      JUPYTER_PREFER_ENV_PATH: "1",
      JUPYTER_PLATFORM_DIRS: "1",
      PYTHONUNBUFFERED: "1",
    },
  },
);
if (r.error) {
  console.error(`notebooks: could not start ${python}: ${r.error.message}. Run ./course setup.`);
  process.exit(1);
}
process.exit(r.status ?? 1);
