// Every saved notebook and every export carries the Plotly bundle exactly once, however cells were re-run or run
// out of order (scripts/plotly_bundle.py; lib/viz/plot.ts sends the bundle once per kernel session). Needs
// ./course setup (the .venv/ with Jupyter and the tslab kernel): without it these tests fail and say so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { bundleHtml } from "../lib/viz/plotly_bundle";

const root = resolve(__dirname, "..");
const python = join(root, ".venv", "bin", "python");

function py(args: string[], input?: string): string {
  assert.ok(existsSync(python), "Jupyter is not set up in this checkout (.venv/ is missing): run ./course setup first.");
  const r = spawnSync(python, args, { cwd: root, input, encoding: "utf8", timeout: 600_000, maxBuffer: 64 << 20, env: { ...process.env, NLU_MODE: "quick" } });
  assert.equal(r.status, 0, `${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const BUNDLE = (v: string) => ({ output_type: "display_data", data: { "text/html": `<script data-nlu-plotly-bundle="${v}">/* bundle */</script>` }, metadata: {} });
const CHART = (id: string) => ({ output_type: "display_data", data: { "text/html": `<div id="${id}" class="nlu-plot"></div><script>draw()</script>` }, metadata: {} });
const STREAM = { output_type: "stream", name: "stdout", text: "hello\n" };
const cell = (outputs: unknown[]) => ({ cell_type: "code", source: "", metadata: {}, outputs, execution_count: null });
const fix = (cells: unknown[]) =>
  JSON.parse(py(["scripts/plotly_bundle.py"], JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }))).cells as { outputs: { data?: Record<string, string> }[] }[];
const kinds = (cells: { outputs: { data?: Record<string, string> }[] }[]) =>
  cells.map((c) => c.outputs.map((o) => (o.data?.["text/html"]?.includes("data-nlu-plotly-bundle") ? "B" : o.data ? "C" : "s")).join(""));

test("the Python side rebuilds the bundle byte for byte as lib/viz/plot.ts sends it", () => {
  const fromPython = py(["-c", "import sys; sys.path.insert(0, 'scripts'); from plotly_bundle import bundle_html; sys.stdout.write(bundle_html())"]);
  assert.equal(sha(fromPython), sha(bundleHtml()));
  assert.match(bundleHtml(), /^<script data-nlu-plotly-bundle="\d+\.\d+\.\d+">/);
});

test("ensure_plotly_bundle: one bundle, just before the first chart, whatever the outputs held", () => {
  // Lost (the cell that held it was re-run): put back before the first chart, rebuilt from node_modules.
  const lost = fix([cell([STREAM]), cell([STREAM, CHART("a")]), cell([CHART("b")])]);
  assert.deepEqual(kinds(lost), ["s", "sBC", "C"]);
  assert.equal(sha((lost[1].outputs[1].data as Record<string, string>)["text/html"]), sha(bundleHtml()));
  // Out of order (the later cell ran first): moved up, the kernel's copy reused as it is.
  const late = fix([cell([CHART("a")]), cell([BUNDLE("9.9.9"), CHART("b")])]);
  assert.deepEqual(kinds(late), ["BC", "C"]);
  assert.match((late[0].outputs[0].data as Record<string, string>)["text/html"], /9\.9\.9/);
  // Twice (two kernel sessions, e.g. after a restart): once.
  assert.deepEqual(kinds(fix([cell([BUNDLE("1"), CHART("a")]), cell([BUNDLE("1"), CHART("b")])])), ["BC", "C"]);
  // No chart left (outputs cleared): no bundle either.
  assert.deepEqual(kinds(fix([cell([BUNDLE("1"), STREAM]), cell([])])), ["s", ""]);
});

test("run all, re-run the first chart cell (or run charts out of order), save, export: the bundle is there once", () => {
  const report = JSON.parse(py(["test/helpers/plotly_bundle_scenario.py"]).trim().split("\n").pop()!);
  const { rerun, out_of_order: outOfOrder } = report;
  // The fault: after the re-run, no output the kernel gave still holds the bundle.
  assert.equal(rerun.kernel_outputs, 0);
  assert.equal(outOfOrder.kernel_bundle_cell, 4, "the kernel sent the bundle with the chart that ran first");
  for (const [name, r] of Object.entries({ rerun, outOfOrder }) as [string, Record<string, unknown>][]) {
    assert.equal(r.saved_file, 1, `${name}: bundles in the saved file`);
    assert.equal(r.saved_bundle_cell, r.saved_first_chart, `${name}: the bundle comes with the first chart`);
    assert.equal(r.saved_trusted, true, `${name}: the saved notebook is still signed (trusted), so its scripts run`);
    assert.equal(r.html_bundles, 1, `${name}: bundles in the exported HTML`);
    assert.equal(r.html_charts, 2, `${name}: charts in the exported HTML`);
    assert.equal(r.html_bundles_unsaved, 1, `${name}: the exporter fixes an unsaved notebook too`);
    // Papercut: a cell ending in lineChart(...) / showTable(...) shows the HTML only, no "[line chart] ..." line.
    assert.deepEqual(r.stream_text, ["", "", "", ""], `${name}: text printed under the cells`);
  }
});
