// Notebook 08's views (lib/viz/analysis) and study helpers (lib/tasks/representations) on small inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { probeHeatmap, ckaHeatmap, projectionScatter, selfSimilarityChart, headTypeHeatmap, attentionHeatmap } from "../lib/viz";
import { LayerProbeRow, headStatistics, compareLayers, extractRepresentations, selfSimilarity, neighbourAgreement, toFeatures, Representations } from "../lib/analysis";
import * as fs from "node:fs";
import * as path from "node:path";
import { corruptedSentences, electraLectureSizes } from "../lib/tasks/representations";
import { electraSettings } from "../lib/tasks/electra_study";
import { ElectraModel } from "../lib/models/electra";
import { Vocab, CLS_ID } from "../lib/data/vocab";

/** Run fn with NLU_MODE set to `m`. */
function withMode<T>(m: string, fn: () => T): T {
  const before = process.env.NLU_MODE;
  process.env.NLU_MODE = m;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.NLU_MODE;
    else process.env.NLU_MODE = before;
  }
}

const row = (model: string, task: string, layer: number, accuracy: number, control: number): LayerProbeRow => ({
  model, task, layer, layerName: layer ? `layer ${layer}` : "embeddings", accuracy, controlAccuracy: control, selectivity: accuracy - control,
  majority: 0.5, trainExamples: 10, testExamples: 5,
});

test("probeHeatmap: one row per model and task, one column per layer, the chosen value in each cell", () => {
  const rows = [row("BERT", "position", 0, 0.9, 0.5), row("BERT", "position", 1, 0.8, 0.6), row("ELECTRA", "position", 0, 0.7, 0.7)];
  const fig = probeHeatmap(rows, { value: "selectivity", show: false });
  const z = fig.data[0].z as (number | null)[][];
  assert.ok(Math.abs(z[0][0]! - 0.4) < 1e-12 && Math.abs(z[0][1]! - 0.2) < 1e-12);
  assert.equal(z[1][0], 0);
  assert.equal(z[1][1], null, "a layer the model does not have is blank");
  assert.deepEqual((fig.layout.yaxis as { ticktext: string[] }).ticktext, ["BERT · position", "ELECTRA · position"]);
  assert.throws(() => probeHeatmap([]), /got no rows/);
});

function handBuilt(): Representations {
  const seq = [CLS_ID, 7, 8, 9];
  const map = new Float32Array(2 * 16).fill(0.25);
  return {
    model: "toy", kind: "transformer", layerNames: ["embeddings", "layer 1"], prefix: 1, sequences: [seq, seq], offsets: [0, 4],
    states: [toFeatures([[1, 0], [0, 1], [1, 1], [2, 0], [1, 0], [0, 2], [1, 1], [2, 1]]), toFeatures([[1, 2], [3, 1], [0, 1], [1, 1], [1, 2], [3, 2], [0, 0], [1, 2]])],
    attentions: { heads: 2, maps: [[map, map]] },
  };
}

test("CKA, head-type and attention heatmaps carry the numbers and labels they are given", () => {
  const r = handBuilt();
  const c = compareLayers(r, r);
  const fig = ckaHeatmap(c, { show: false });
  assert.ok(Math.abs((fig.data[0].z as number[][])[1][1] - 1) < 1e-6);
  const stats = headStatistics({ representations: r });
  const heads = headTypeHeatmap(stats, { show: false });
  const z = heads.data[0].z as number[][];
  assert.equal(z.length, 2, "one row per head");
  assert.ok(Math.abs(z[0][0] - 1) < 1e-6, "a uniform head has entropy ÷ uniform = 1");
  assert.ok(Math.abs(z[0][1] - 0.25) < 1e-6, "→ [CLS]");
  const vocab = Vocab.build([["a", "b", "c", "d", "e"]]);
  const att = attentionHeatmap({ representations: r, layer: 1, head: 1, sentence: 0, vocab, show: false });
  assert.deepEqual((att.layout.xaxis as { ticktext: string[] }).ticktext[0], "[CLS]");
  assert.throws(() => attentionHeatmap({ representations: r, layer: 1, head: 2, sentence: 0, vocab }), /head 2 is out of range: use 0\.\.1/);
  assert.throws(() => attentionHeatmap({ representations: r, layer: 3, head: 0, sentence: 0, vocab }), /attention layer 3 is out of range/);
  assert.throws(() => compareLayers(r, { ...r, sequences: [[CLS_ID, 7, 8, 9], [CLS_ID, 7, 8, 10]] }), /read different token sequences/);
});

test("projection scatter, self-similarity chart and neighbour agreement", () => {
  const fig = projectionScatter({ points: [[0, 0], [1, 1], [5, 5]], labels: ["a", "a", "b"], texts: ["x", "y", "z"], show: false });
  assert.equal(fig.data.length, 2, "one trace per label");
  assert.throws(() => projectionScatter({ points: [[0, 0]], labels: [] }), /1 points and 0 labels/);
  const res = selfSimilarity({ representations: handBuilt(), minContexts: 2, baselinePairs: 10 });
  const chart = selfSimilarityChart({ toy: res }, { show: false });
  assert.equal(chart.data.length, 2);
  assert.equal(neighbourAgreement([[0], [0.1], [5], [5.1]], [0, 0, 1, 1]), 1);
  assert.equal(neighbourAgreement([[0], [0.1], [5], [5.1]], [0, 1, 0, 1]), 0);
});

test("corruptedSentences: ELECTRA's inputs with one replaced/original label per word, and the same through extraction", () => {
  const model = new ElectraModel({ vocabSize: 30, width: 16, heads: 2, layers: 1, maxLen: 12, seed: 1 });
  const sentences = [[7, 8, 9, 10, 11, 12, 13, 14], [15, 16, 17]];
  const c = corruptedSentences(model, sentences, 3);
  assert.equal(c.sequences[0][0], CLS_ID);
  c.sequences.forEach((seq, i) => {
    assert.equal(c.labels[i].length, sentences[i].length);
    c.labels[i].forEach((y, j) => assert.equal(y, seq[j + 1] === sentences[i][j] ? 0 : 1));
  });
  const r = extractRepresentations({ model, sentences: c.sequences, prepared: true });
  assert.deepEqual(r.sequences, c.sequences);
  assert.throws(() => corruptedSentences(new ElectraModel({ vocabSize: 30, width: 8, heads: 2, layers: 1, objective: "bert" }), sentences), /has none/);
  model.dispose();
});

test("notebook 08 pre-trains with notebook 04's sizes and model, so the two share checkpoints", () => {
  const nb = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "notebooks", "04_electra.ipynb"), "utf8"));
  const first = nb.cells.find((c: { cell_type: string }) => c.cell_type === "code");
  const src: string = first.source.join("");
  // Notebook 04 takes its sizes, encoder and pre-training settings from electraSettings, as notebook 08 does.
  assert.match(src, /const S = electraSettings\(\);/);
  assert.match(src, /const arch = S\.arch;/);
  assert.match(src, /const settings = S\.pretrain;/);
  for (const m of ["quick", "full"] as const) {
    const S = electraSettings({ mode: m });
    const sizes = withMode(m, electraLectureSizes);
    for (const [key, value] of Object.entries(sizes)) assert.deepEqual(value, (S as unknown as Record<string, unknown>)[key], `${m} mode: ${key}`);
  }
  // The architecture and the checkpoint names studyEncoders uses.
  const all = nb.cells.map((c: { source: string[] }) => c.source.join("")).join("\n");
  assert.match(all, /name: `e04-\$\{mode\(\)\}-bert-\$\{positions\}`.*snapshots: positions === "alibi" \? S\.snapshots : \[\]/);
  assert.match(all, /name: `e04-\$\{mode\(\)\}-electra-g0\.25-s0`, model: \{ \.\.\.arch, objective: "electra", seed: 0 \}, corpus: corpus, settings: \{ \.\.\.settings, snapshots: S\.snapshots \}/);
});
