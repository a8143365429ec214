import { test } from "node:test";
import assert from "node:assert/strict";
import {
  barChart,
  captureDisplays,
  escapeHtml,
  heatmap,
  lineChart,
  livePlot,
  progress,
  resetPlotlyBundle,
  scatter,
  showTable,
} from "../lib/viz";
import { isHeadless, inKernel, newHandle, outputPage, scriptJson } from "../lib/viz/display";

const BUNDLE_MARK = "if (!window.Plotly)";

test("charts: one bundle per session, then a div + script per chart referencing its id", () => {
  const { outputs } = captureDisplays(() => {
    lineChart({ title: "Loss", series: [{ name: "train", y: [3, 2, 1] }] });
    heatmap({ z: [[1, 0], [0, 1]] });
    scatter({ points: [{ x: 0, y: 0, label: "a" }] });
  });
  assert.equal(outputs.length, 4, "bundle + 3 charts");
  const bundles = outputs.filter((o) => o.html.includes(BUNDLE_MARK));
  assert.equal(bundles.length, 1);
  assert.equal(outputs[0], bundles[0], "the bundle comes before the first chart");
  assert.ok(outputs[0].html.length > 1_000_000, "the whole plotly bundle is inlined");
  assert.match(outputs[0].html, /^<script data-nlu-plotly-bundle="[\d.]+">[\s\S]*<\/script>$/); // the attribute scripts/plotly_bundle.py finds it by
  assert.equal(outputs[0].html.match(/<\/script/gi)!.length, 1, "the bundle cannot close its script early");
  for (const o of outputs.slice(1)) {
    const id = o.html.match(/^<div id="(nlu-plot-[^"]+)"/)?.[1];
    assert.ok(id, `chart output starts with a div with an id: ${o.html.slice(0, 80)}`);
    assert.ok(o.html.includes(`var id = "${id}"`), "its script draws into that div");
    assert.ok(o.html.length < 4000, `a small chart stays small (${o.html.length} chars)`);
    assert.ok(!o.html.includes(BUNDLE_MARK));
  }
  const ids = outputs.slice(1).map((o) => o.html.match(/id="([^"]+)"/)![1]);
  assert.equal(new Set(ids).size, 3, "ids are unique");
  // A second session (here: a second capture) gets the bundle again, once.
  const again = captureDisplays(() => lineChart({ series: [{ name: "a", y: [1] }] })).outputs;
  assert.equal(again.filter((o) => o.html.includes(BUNDLE_MARK)).length, 1);
});

test("chart titles and labels are escaped: they cannot break out of the script or inject HTML", () => {
  const evil = "</script><img src=x onerror=alert(1)> & <!--";
  const { outputs, result } = captureDisplays(() => lineChart({ title: evil, series: [{ name: evil, y: [1, 2] }] }));
  const chart = outputs[outputs.length - 1].html;
  assert.equal(chart.match(/<\/script>/g)!.length, 1, "only the chart's own closing tag");
  assert.ok(!chart.includes("<img"), "no raw tag from the title");
  assert.ok(!chart.includes("<!--"));
  assert.equal((result.layout.title as { text: string }).text, escapeHtml(evil), "Plotly gets entities, shows the text");
  assert.equal(result.data[0].name, escapeHtml(evil));
  // Quotes are not markup to Plotly: they stay quotes (an entity would be shown literally).
  const quoted = lineChart({ title: `"Quoted" it's`, series: [{ name: `a "b"`, y: [1] }], show: false });
  assert.equal((quoted.layout.title as { text: string }).text, `"Quoted" it's`);
  assert.equal(quoted.data[0].name, `a "b"`);
  assert.equal(scriptJson("</script>"), '"\\u003c/script>"');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("figure specs: series, heatmap shape and tick labels, scatter groups, bars with error bars", () => {
  const line = lineChart({
    show: false,
    logY: true,
    series: [
      { name: "train", y: [2, 1, NaN, 0.5] },
      { name: "val", x: [0, 2], y: [2.5, 1.5] },
    ],
  });
  assert.equal(line.data.length, 2);
  assert.deepEqual(line.data[0].x, [0, 1, 2, 3], "x defaults to steps");
  assert.deepEqual(line.data[0].y, [2, 1, null, 0.5], "NaN becomes a gap");
  assert.equal((line.layout.yaxis as { type: string }).type, "log");
  assert.throws(() => lineChart({ show: false, series: [{ name: "v", x: [0], y: [1, 2] }] }), /x has 1 values but y has 2/);
  assert.throws(() => lineChart({ show: false, series: [] }), /at least one series/);

  const tokens = ["the", "cat", "saw", "the"]; // a repeated token must keep its own row and column
  const z = [
    [0.7, 0.1, 0.1, 0.1],
    [0.2, 0.6, 0.1, 0.1],
    [0.1, 0.1, 0.7, 0.1],
    [0.1, 0.1, 0.1, 0.7],
  ].slice(0, 3);
  const hm = heatmap({ show: false, z, x: tokens, y: tokens.slice(0, 3), showValues: true });
  const trace = hm.data[0] as { z: number[][]; x: number[]; y: number[]; texttemplate?: string };
  assert.equal(trace.z.length, 3);
  assert.equal(trace.z[0].length, 4);
  assert.deepEqual(trace.x, [0, 1, 2, 3]);
  assert.deepEqual((hm.layout.xaxis as { ticktext: string[] }).ticktext, tokens);
  assert.equal((hm.layout.yaxis as { autorange: string }).autorange, "reversed", "row 0 on top");
  assert.ok(trace.texttemplate);
  assert.throws(() => heatmap({ show: false, z: [[1, 2], [3]] }), /z\[1\] has 1 values, z\[0\] has 2/);
  assert.throws(() => heatmap({ show: false, z: [[1, 2]], x: ["a"] }), /x has 1 labels but z has 2 columns/);

  const sc = scatter({
    show: false,
    points: [
      { x: 0, y: 1, label: "pos" },
      { x: 1, y: 0, label: "neg", text: "<b>bad</b> film" },
      { x: 2, y: 2, label: "pos" },
    ],
  });
  assert.deepEqual(sc.data.map((t) => t.name), ["pos", "neg"], "one trace per label, first-seen order");
  assert.deepEqual(sc.data[0].x, [0, 2]);
  assert.deepEqual(sc.data[1].text, ["&lt;b&gt;bad&lt;/b&gt; film"]);

  const bars = barChart({ show: false, bars: [{ label: "ELECTRA", value: 0.85, error: 0.01 }, { label: "BERT", value: 0.82 }] });
  assert.deepEqual(bars.data[0].y, [0.85, 0.82]);
  assert.deepEqual(bars.data[0].error_y, { type: "data", array: [0.01, 0], visible: true });
  const grouped = barChart({
    show: false,
    categories: ["SST-2", "COGS"],
    groups: [
      { name: "teacher", values: [0.9, 0.8], errors: [0.01, 0.02] },
      { name: "student", values: [0.88, 0.7] },
    ],
  });
  assert.equal(grouped.data.length, 2);
  assert.equal(grouped.layout.barmode, "group");
  assert.equal(grouped.data[1].error_y, undefined);
  assert.throws(() => barChart({ show: false, categories: ["a"], groups: [{ name: "g", values: [1, 2] }] }), /2 values for 1 categories/);
  assert.throws(() => barChart({ show: false }), /exactly one of bars/);
});

test("livePlot: throttled in-place updates of one display, final figure has every point", () => {
  let clock = 0;
  const { outputs, result } = captureDisplays(() => {
    const live = livePlot({ title: "loss", everyMs: 0, maxUpdates: 3, now: () => clock });
    for (let i = 0; i < 10; i++) {
      clock += 10;
      live.push("train", 1 / (i + 1));
      if (i % 5 === 4) live.push("val", 2 / (i + 1));
    }
    return live.done();
  });
  const charts = outputs.filter((o) => !o.html.includes(BUNDLE_MARK));
  assert.equal(outputs.length - charts.length, 1, "bundle once");
  assert.equal(charts.length, 4, "3 throttled redraws + the final one");
  assert.equal(new Set(charts.map((c) => c.id)).size, 1, "all in one display");
  assert.deepEqual(charts.map((c) => c.update), [false, true, true, true], "later ones overwrite in place");
  assert.equal(result.data.length, 2);
  assert.equal((result.data[0].y as number[]).length, 10);
  assert.deepEqual(result.data[1].x, [0, 1]);
  assert.ok(charts[3].html.includes(`var id = "${result.id}"`), "the last output is the final figure");

  // everyMs throttles by time; thinning keeps the curve bounded and its last point.
  clock = 0;
  const slow = captureDisplays(() => {
    const live = livePlot({ everyMs: 1000, maxPoints: 100, now: () => clock });
    for (let i = 0; i < 1000; i++) {
      clock += 5; // 5 s of training
      live.push("train", i);
    }
    return live.done();
  });
  const draws = slow.outputs.filter((o) => !o.html.includes(BUNDLE_MARK)).length;
  assert.equal(draws, 6, "a draw at t=0.005 s, then one per second (5), then done()");
  const y = slow.result.data[0].y as number[];
  assert.ok(y.length <= 101 && y.length >= 50, `thinned to ${y.length} points`);
  assert.equal(y[y.length - 1], 999, "the last point is kept");
  const gaps = new Set(y.slice(0, -1).map((v, i) => y[i + 1] - v).slice(0, -1));
  assert.deepEqual([...gaps], [16], "evenly thinned: every 16th point after 4 halvings");
});

test("tables: escaping, row limit, number formatting, colours and their validation", () => {
  const rows = Array.from({ length: 30 }, (_, i) => ({ text: i === 0 ? "<script>x</script> & co" : `row ${i}`, score: i + 0.123456 }));
  const { outputs, result } = captureDisplays(() => showTable(rows, { title: "A <title>", maxRows: 5, precision: 3 }));
  assert.equal(outputs.length, 1);
  const html = result.html;
  assert.ok(!html.includes("<script>"), "cell text is escaped");
  assert.ok(html.includes("&lt;script&gt;x&lt;/script&gt; &amp; co"));
  assert.ok(html.includes("A &lt;title&gt;"));
  assert.equal(html.match(/<tr>/g)!.length, 6, "header + 5 rows");
  assert.ok(html.includes("25 more rows (showing 5 of 30)"));
  assert.deepEqual(result.cells[1], ["row 1", "1.123"], "3 significant digits, decimals aligned with the column (row 0: 0.123)");
  assert.equal(result.totalRows, 30);
  assert.match(result.text.split("\n")[1], /^text\s+score$/, "text fallback has a header");

  const tokens = [{ t0: "the", t1: "chef", t2: "ate" }];
  const coloured = showTable(tokens, {
    show: false,
    colours: [["", "#f4a6a6", undefined]],
    cellTitles: [[null, 'original: "cook"', null]],
  });
  assert.match(coloured.html, /<td style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;background:#f4a6a6" title="original: &quot;cook&quot;">chef<\/td>/);
  assert.equal(coloured.html.match(/background:/g)!.length, 1);
  const byFn = showTable([{ a: 1 }, { a: -1 }], { show: false, colours: (_r, _c, v) => ((v as number) < 0 ? "rgb(255, 0, 0)" : null) });
  assert.equal(byFn.html.match(/background:rgb\(255, 0, 0\)/g)!.length, 1);
  assert.throws(
    () => showTable(tokens, { show: false, colours: [["red;position:fixed"]] }),
    /colour "red;position:fixed" at row 0, column "t0" is not a colour/,
  );
  // A DataFrame-shaped object (what danfojs gives: columns + values), incl. a one-column frame's flat values.
  const frame = showTable({ columns: ["label", "n"], values: [["pos", 3], ["neg", 2]] }, { show: false });
  assert.deepEqual(frame.cells, [["pos", "3"], ["neg", "2"]]);
  assert.deepEqual(showTable({ columns: ["x"], values: [1, 2] }, { show: false }).cells, [["1"], ["2"]]);
  // One number of decimals per numeric column: 0.770 beside 0.763 (not 0.77), 1.000 beside them; a column of
  // small values keeps its own (0.003); strings, NaN dashes and integer-only columns are untouched.
  const aligned = showTable([{ a: 0.77, b: 0.003, n: 5, s: "x" }, { a: 0.763, b: 0.004, n: 12, s: "y" }, { a: 1, b: NaN, n: 7, s: "z" }], { show: false, precision: 3 });
  assert.deepEqual(aligned.cells, [["0.770", "0.003", "5", "x"], ["0.763", "0.004", "12", "y"], ["1.000", "—", "7", "z"]]);
  assert.throws(() => showTable(rows, { show: false, columns: ["nope"] }), /column "nope" is not in the data: it has text, score/);
});

test("danfojs-node: a real DataFrame renders, and loading it keeps the tfjs backend and engine", async () => {
  const tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
  await tf.ready();
  const before = tf.memory().numTensors;
  const engine = tf.engine();
  let dfd: typeof import("danfojs-node");
  try {
    dfd = require("danfojs-node");
  } catch (e) {
    assert.fail(`require("danfojs-node") failed: ${(e as Error).message.split("\n")[0]} — check package.json's overrides map @tensorflow/tfjs-node to vendor/tfjs-node-shim`);
  }
  assert.equal(tf.getBackend(), "cpu", "danfojs did not switch the backend");
  assert.equal(tf.engine(), engine, "one tfjs engine, not a second copy");
  const df = new dfd.DataFrame([{ sentence: "a <b> film", label: 1 }, { sentence: "dull", label: 0 }]);
  const table = showTable(df, { show: false });
  assert.deepEqual(table.columns, ["sentence", "label"]);
  assert.ok(table.html.includes("a &lt;b&gt; film"));
  assert.ok(tf.memory().numTensors - before <= 4, `danfojs holds few tensors (${tf.memory().numTensors - before})`);
});

test("progress: plain lines every 10% plus a final line, no flood", () => {
  let clock = 0;
  const lines: string[] = [];
  const bar = progress({ total: 1000, label: "train", mode: "lines", write: (s) => lines.push(s), now: () => clock });
  for (let step = 1; step <= 1000; step++) {
    clock += 10; // 10 s in all, so the 30 s timer never fires
    bar.update(step, { epoch: `${Math.ceil(step / 500)}/2`, loss: 1 / step });
  }
  bar.done({ acc: 0.9 });
  bar.done();
  bar.update(5);
  assert.equal(lines.length, 10, `9 decile lines (10%..90%) + the final line:\n${lines.join("\n")}`);
  assert.match(lines[0], /^train 100\/1000 steps \(10%\) · epoch 1\/2 · loss 0\.01 · 100 steps\/s · ETA 9\.0 s$/);
  assert.match(lines[9], /^train 1000\/1000 steps \(100%\) · epoch 2\/2 · loss 0\.001 · acc 0\.9 · 100 steps\/s · took 10\.0 s$/);

  // A slow run also prints every linesEveryMs.
  clock = 0;
  const slow: string[] = [];
  const p = progress({ total: 100, mode: "lines", linesEveryMs: 60_000, write: (s) => slow.push(s), now: () => clock });
  for (let i = 1; i <= 5; i++) {
    clock += 70_000;
    p.update(i);
  }
  assert.equal(slow.length, 5);
  assert.match(slow[4], /5\/100 steps \(5%\) .* ETA 1:50:50$/);
  assert.throws(() => progress({ total: 0 }), /progress total \(0\) must be a number >= 1/);
  assert.throws(() => progress({ total: 5, mode: "fancy" as "auto" }), /mode "fancy" is not one of/);
});

test("progress: in a notebook it overwrites one display; tty mode rewrites one line", () => {
  let clock = 0;
  const { outputs } = captureDisplays(() => {
    const bar = progress({ total: 50, label: "<epoch>", everyMs: 100, now: () => clock });
    for (let i = 1; i <= 50; i++) {
      clock += 10;
      bar.update(i, { loss: 0.5 });
    }
    bar.done();
  });
  assert.equal(new Set(outputs.map((o) => o.id)).size, 1);
  assert.deepEqual(outputs.map((o) => o.update).slice(0, 2), [false, true]);
  assert.equal(outputs.length, 1 + 5 + 1, "start + one redraw per 100 ms + final");
  assert.ok(outputs[outputs.length - 1].html.includes("&lt;epoch&gt; 50/50 steps (100%)"));
  assert.ok(outputs[outputs.length - 1].html.includes("width:100.0%"));
  // A narrow output area (side-by-side panes) wraps the line instead of clipping it at the right edge.
  assert.match(outputs[outputs.length - 1].html, /class="nlu-progress" style="[^"]*white-space:pre-wrap/);

  const out: string[] = [];
  clock = 0;
  const tty = progress({ total: 3, mode: "tty", everyMs: 0, write: (s) => out.push(s), now: () => clock });
  tty.update(1);
  tty.update(2);
  tty.done();
  assert.ok(out.every((s) => s.startsWith("\r")));
  assert.ok(out[out.length - 1].endsWith("\n") && !out[0].endsWith("\n"));
});

test("display seam: no kernel in tests; NLU_HEADLESS wins; a fake tslab gets display and update calls", () => {
  assert.equal(inKernel(), false);
  assert.equal(isHeadless({ NLU_HEADLESS: "1" }), true);
  assert.equal(isHeadless({ NLU_HEADLESS: "0", CI: "true" }), false);
  assert.equal(isHeadless({ CI: "true" }), true);

  const calls: string[] = [];
  const fakeDisplay = (name: string) => ({ html: (s: string) => calls.push(`${name}:${s}`), text: () => undefined });
  const g = globalThis as { __tslab__?: unknown };
  g.__tslab__ = { require: (id: string) => (id === "tslab" ? { display: fakeDisplay("display"), newDisplay: () => fakeDisplay("handle") } : null) };
  try {
    assert.equal(inKernel(), true);
    const h = newHandle();
    h.show({ html: "<i>1</i>", text: "1" });
    h.show({ html: "<i>2</i>", text: "2" });
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    lineChart({ series: [{ name: "b", y: [1, 2] }] });
  } finally {
    delete g.__tslab__;
    resetPlotlyBundle();
  }
  assert.deepEqual(calls.slice(0, 2), ["handle:<i>1</i>", "handle:<i>2</i>"]);
  const sent = calls.slice(2);
  assert.equal(sent.length, 3, "bundle + 2 charts");
  assert.equal(sent.filter((c) => c.includes(BUNDLE_MARK)).length, 1, "no page known (this fake kernel has none): the bundle goes once, to the one shared slot");
});

test("plotly bundle: once per PAGE (the kernel's client session): a reloaded tab or a second tab gets it again", () => {
  const calls: string[] = [];
  const fakeDisplay = { html: (s: string) => calls.push(s), text: () => undefined };
  const g = globalThis as unknown as { __tslab__?: unknown } & Record<symbol, unknown>;
  const PAGE = Symbol.for("nlu-course.outputPage");
  let page: string | null = "tab-1";
  g.__tslab__ = { require: (id: string) => (id === "tslab" ? { display: fakeDisplay, newDisplay: () => fakeDisplay } : null) };
  g[PAGE] = () => page;
  const bundles = () => calls.filter((c) => c.includes(BUNDLE_MARK)).length;
  try {
    assert.equal(outputPage(), "tab-1");
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    assert.equal(bundles(), 1, "one page: one bundle");
    page = "tab-1-reloaded"; // the browser reloaded: new kernel connection, new client session
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    assert.equal(bundles(), 2, "the reloaded page gets the bundle");
    assert.ok(calls[calls.length - 2].includes(BUNDLE_MARK), "before its first chart");
    page = "tab-1";
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    assert.equal(bundles(), 2, "a page that has it does not get it twice");
    page = null; // no request known (kernel's own code): one shared slot
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    lineChart({ series: [{ name: "a", y: [1, 2] }] });
    assert.equal(bundles(), 3);
    assert.equal(calls.length, 3 + 6, "3 bundles + 6 charts");
  } finally {
    delete g.__tslab__;
    delete g[PAGE];
    resetPlotlyBundle();
  }
  assert.equal(outputPage(), null, "outside the kernel there is no page");
});
