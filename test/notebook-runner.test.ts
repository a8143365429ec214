// The notebook runner (scripts/notebooks.mjs -> scripts/run_notebooks.py) against real Jupyter and the tslab
// kernel, on the fixture notebooks in test/fixtures/. Needs ./course setup (the .venv/ with Jupyter): without it
// these tests fail and say so - they do not skip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");
const runner = join(root, "scripts", "notebooks.mjs");
const fixture = (name: string): string => join(root, "test", "fixtures", name);

function requireJupyter(): void {
  const python = join(root, ".venv", "bin", "python");
  const kernel = join(root, ".venv", "share", "jupyter", "kernels", "tslab", "kernel.json");
  assert.ok(
    existsSync(python) && existsSync(kernel),
    "Jupyter is not set up in this checkout (.venv/ with the tslab kernel is missing): run ./course setup first; " +
      "these tests execute real notebooks.",
  );
}

interface Run {
  status: number | null;
  output: string;
  out: string;
}

function runNotebooks(args: string[], out = mkdtempSync(join(tmpdir(), "nlu-nb-"))): Run {
  requireJupyter();
  const r = spawnSync(process.execPath, [runner, ...args, "--out", out], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NLU_MODE: "quick" },
    timeout: 300_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, out };
}

/** The runner's line for one notebook (its "ok"/"FAILED" line). */
function lineFor(output: string, notebook: string): string {
  const line = output.split("\n").find((l) => /^\s+(ok|FAILED)\s/.test(l) && l.includes(notebook));
  assert.ok(line, `no result line for ${notebook} in:\n${output}`);
  return line;
}

test("passing notebooks pass: plain cells, a relative import of lib/, an expected exception", () => {
  const names = ["passes.ipynb", "imports-lib.ipynb", "raises-tagged.ipynb"];
  const r = runNotebooks(["run", ...names.map(fixture)]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^notebooks: 3 passed, 0 failed$/m);
  for (const name of names) assert.match(lineFor(r.output, name), /^\s+ok\s/);

  // Executed copies keep the outputs: the cells really ran, in quick mode, from the notebook's folder.
  const executed = (name: string): string => readFileSync(join(r.out, "notebooks", "test", "fixtures", name), "utf8");
  assert.match(executed("passes.ipynb"), /total=6/);
  assert.match(executed("imports-lib.ipynb"), /mode=quick steps=5/);
  // The cell after the expected exception ran at once (the kernel no longer aborts it), and the expected error
  // is a Jupyter error output with its name and message.
  assert.match(executed("raises-tagged.ipynb"), /reached the cell after the expected error/);
  const raised = JSON.parse(executed("raises-tagged.ipynb")).cells[2].outputs;
  assert.deepEqual(
    raised.map((o: { output_type: string; ename?: string; evalue?: string }) => [o.output_type, o.ename, o.evalue]),
    [["error", "TypeError", "this cell is meant to fail"]],
  );
  assert.doesNotMatch(r.output, /re-sent|aborted/);
  // Every cell has its execution count (the kernel broadcasts execute_input), so exports show In [n].
  const counts = JSON.parse(executed("passes.ipynb")).cells.filter((c: { cell_type: string }) => c.cell_type === "code");
  assert.deepEqual(counts.map((c: { execution_count: number | null }) => c.execution_count), [1, 2]);

  // HTML exports render offline: no require.js (it would swallow inlined plotly bundles), the output is there.
  const html = readFileSync(join(r.out, "html", "test", "fixtures", "passes.html"), "utf8");
  assert.match(html, /total=6/);
  assert.doesNotMatch(html, /require\.js|require\.min\.js/);
  assert.doesNotMatch(html, /<script[^>]+src="https?:/);

  // `export` reuses a fresh executed copy instead of running the notebook again.
  rmSync(join(r.out, "html"), { recursive: true });
  const e = runNotebooks(["export", fixture("passes.ipynb")], r.out);
  assert.equal(e.status, 0, e.output);
  assert.match(e.output, /from the executed copy/);
  assert.ok(existsSync(join(r.out, "html", "test", "fixtures", "passes.html")), e.output);
  rmSync(r.out, { recursive: true, force: true });
});

test("failing notebooks fail, naming the cell, its first line and the error", () => {
  const r = runNotebooks(["run", "--no-html", ...["throws.ipynb", "raises-tagged-quiet.ipynb", "type-error.ipynb"].map(fixture)]);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /^notebooks: 0 passed, 3 failed$/m);

  // A throwing cell followed by a normal one: tslab would abort the next cell and nbclient call that success.
  const throws = lineFor(r.output, "throws.ipynb");
  assert.match(throws, /FAILED/);
  assert.match(throws, /cell 3 of 4 \(`const width = 128;`\)/);
  assert.match(throws, /raised RangeError: heads \(3\) must divide width \(128\)/);
  // Under it, the kernel's traceback: the student's cell and line, no compiled or internal frames.
  assert.match(r.output, /^\s+\| {5}at Cell In\[2\], line 2$/m);
  assert.doesNotMatch(r.output, /evalmachine|node:vm|__tslab_cell/);
  assert.match(r.output, /1 later code cell\(s\) not run/);
  const executed = JSON.parse(readFileSync(join(r.out, "notebooks", "test", "fixtures", "throws.ipynb"), "utf8"));
  assert.deepEqual(executed.cells[3].outputs, [], "the cell after the error must not have run");

  assert.match(lineFor(r.output, "raises-tagged-quiet.ipynb"), /cell 2 of 2 .*tagged 'raises-exception' but did not raise/);
  assert.match(lineFor(r.output, "type-error.ipynb"), /raised TSError: TS2322: Type 'string' is not assignable to type 'number'\. \(line 1\)/);
  assert.match(r.output, /^\s+\| Cell In\[1\], line 1, column 7: error TS2322: /m);
  rmSync(r.out, { recursive: true, force: true });
});

test("an error thrown by background code (a timer) fails the cell it interrupted, saying so", () => {
  const r = runNotebooks(["run", "--no-html", fixture("background-error.ipynb")]);
  assert.equal(r.status, 1, r.output);
  assert.match(
    lineFor(r.output, "background-error.ipynb"),
    /cell 3 of 4 \(`await new Promise\(\(r\) => setTimeout\(r, 500\)\);`\) showed Error: late failure \(thrown by background code/,
  );
  // The traceback points at the timer's line in cell 2 (execution count 1).
  assert.match(r.output, /^\s+\| {5}at Cell In\[1\], line 2$/m);
  rmSync(r.out, { recursive: true, force: true });
});

test("without set-up the runner stops and names the command to run", () => {
  // A copy of the runner in an empty checkout: no .venv/ there.
  const fake = mkdtempSync(join(tmpdir(), "nlu-nosetup-"));
  mkdirSync(join(fake, "scripts"));
  mkdirSync(join(fake, "notebooks"));
  copyFileSync(runner, join(fake, "scripts", "notebooks.mjs"));
  writeFileSync(join(fake, "notebooks", "a.ipynb"), readFileSync(fixture("passes.ipynb")));
  const r = spawnSync(process.execPath, [join(fake, "scripts", "notebooks.mjs"), "run"], { cwd: fake, encoding: "utf8" });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /Jupyter is not set up.*\n.*\.\/course setup/);
  rmSync(fake, { recursive: true, force: true });
});
