// lib/analysis/extract: every model kind through one interface; padding never changes a state or a map; memory flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { extractRepresentations, representationSource, rnnEncoderSource, sentenceVectors, AnalysableModel, Representations } from "../lib/analysis";
import { Embedding } from "../lib/nn/layers";
import { RnnEncoder } from "../lib/nn/rnn";
import { RnnClassifier } from "../lib/models/rnn_classifier";
import { CnnClassifier } from "../lib/models/cnn_classifier";
import { TransformerClassifier } from "../lib/models/transformer_classifier";
import { TransformerEncoder } from "../lib/nn/transformer";
import { ElectraModel } from "../lib/models/electra";
import { CLS_ID } from "../lib/data/vocab";
import { RnnSeq2Seq } from "../lib/models/seq2seq/rnn_seq2seq";

const V = 40;
const electra = () => new ElectraModel({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, seed: 3 });
type Case = { name: string; make: () => AnalysableModel; part?: "main" | "generator"; layers: number; attention: boolean; cls: boolean };
const cases: Case[] = [
  { name: "BiLSTM classifier", make: () => new RnnClassifier({ vocabSize: V, embedDim: 8, hidden: 6, seed: 1 }), layers: 2, attention: false, cls: false },
  { name: "GRU classifier", make: () => new RnnClassifier({ vocabSize: V, embedDim: 8, hidden: 6, cell: "gru", bidirectional: false, seed: 1 }), layers: 2, attention: false, cls: false },
  {
    name: "RNN seq2seq encoder (2 layers, Luong attention)", layers: 3, attention: false, cls: false,
    make: () => new RnnSeq2Seq({ sourceVocabSize: V, targetVocabSize: V, embedDim: 8, hidden: 6, layers: 2, seed: 3 }),
  },
  {
    name: "stacked BiGRU encoder (seq2seq-style embedding + RnnEncoder)", layers: 3, attention: false, cls: false,
    make: () => rnnEncoderSource({ name: "encoder", embedding: new Embedding({ vocabSize: V, dim: 8, seed: 1 }), encoder: new RnnEncoder({ inDim: 8, hidden: 5, cell: "gru", layers: 2, seed: 2 }), maxLen: 16 }),
  },
  { name: "dilated CNN classifier", make: () => new CnnClassifier({ vocabSize: V, embedDim: 8, width: 8, layers: 3, dilationGrowth: 2, seed: 1 }), layers: 4, attention: false, cls: false },
  { name: "transformer classifier", make: () => new TransformerClassifier({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, seed: 1 }), layers: 3, attention: true, cls: true },
  { name: "pre-LN encoder, sinusoidal", make: () => new TransformerEncoder({ vocabSize: V, width: 16, heads: 4, layers: 3, maxLen: 16, norm: "pre", positions: "sinusoidal", seed: 2 }), layers: 4, attention: true, cls: true },
  { name: "ELECTRA discriminator", make: electra, layers: 3, attention: true, cls: true },
  { name: "ELECTRA generator", make: electra, part: "generator", layers: 3, attention: true, cls: true },
  { name: "ELECTRA with ALiBi biases", make: () => new ElectraModel({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, positions: "alibi", seed: 5 }), layers: 3, attention: true, cls: true },
  { name: "encoder with T5 relative biases", make: () => new TransformerEncoder({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, positions: "t5", seed: 6 }), layers: 3, attention: true, cls: true },
  { name: "BERT (ELECTRA's MLM baseline)", make: () => new ElectraModel({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, objective: "bert", seed: 4 }), layers: 3, attention: true, cls: true },
];

const sentences = [[7, 8, 9], [10, 11, 12, 13, 14, 15, 16, 17, 18], [19], [20, 21, 22, 23, 24]];

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst < 1e-5, `${what}: differs by ${worst}`);
}

for (const c of cases) {
  test(`${c.name}: states and attention maps do not depend on the padding around a sentence`, () => {
    const model = c.make();
    const extract = (batchSize: number): Representations =>
      extractRepresentations({ model, sentences, batchSize, attention: c.attention, source: c.part ? { part: c.part } : undefined });
    // Warm-up with both batchings: per-shape caches (ALiBi's bias tables) and lazily built weights are not leaks.
    extract(4);
    extract(1);
    const before = tf.memory().numTensors;
    const alone = extract(1); // no padding at all
    const batched = extract(4); // every sentence padded to the longest
    assert.equal(tf.memory().numTensors, before, "extraction leaves no tensor behind");
    assert.equal(alone.states.length, c.layers);
    assert.equal(alone.layerNames[0], "embeddings");
    const words = sentences.reduce((n, s) => n + s.length, 0);
    const tokens = words + (c.cls ? sentences.length : 0);
    alone.states.forEach((f, l) => {
      assert.equal(f.rows, tokens, `layer ${l} has one row per real token`);
      assertClose(f.data, batched.states[l].data, `layer ${l}`);
    });
    assert.equal(alone.prefix, c.cls ? 1 : 0);
    if (c.cls) assert.deepEqual(alone.sequences[0], [CLS_ID, 7, 8, 9]);
    if (c.attention) {
      const maps = alone.attentions!.maps;
      assert.equal(maps.length, c.layers - 1);
      maps.forEach((layer, l) => layer.forEach((m, s) => {
        assertClose(m, batched.attentions!.maps[l][s], `attention layer ${l + 1}, sentence ${s}`);
        const len = alone.sequences[s].length;
        assert.equal(m.length, alone.attentions!.heads * len * len);
        for (let r = 0; r < m.length / len; r++) {
          const sum = m.subarray(r * len, (r + 1) * len).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}: the padding got attention`);
        }
      }));
    } else {
      assert.throws(() => extractRepresentations({ model, sentences, attention: true }), /has no attention layers/);
    }
    if ("dispose" in model && typeof model.dispose === "function") model.dispose();
  });
}

test("the adapters read what the models' own heads read", () => {
  // Transformer classifier: its sentence vector (encode, no dropout) is the last layer's [CLS] state.
  const clf = new TransformerClassifier({ vocabSize: V, width: 16, heads: 2, layers: 2, maxLen: 16, seed: 5 });
  const r = extractRepresentations({ model: clf, sentences: [sentences[1]] });
  const batch = clf.collate([{ ids: sentences[1], label: 0 }]);
  const encoded = tf.tidy(() => clf.encode(batch.ids, batch.mask, false).dataSync() as Float32Array);
  assertClose(sentenceVectors(r, { layer: 2, pooling: "first" }).data, encoded, "[CLS] vector");
  Object.values(batch).forEach((t) => t.dispose());
  // ELECTRA: the discriminator's last layer is main.apply(...).hidden on [CLS] + ids.
  const m = electra();
  const re = extractRepresentations({ model: m, sentences: [sentences[0]] });
  const direct = tf.tidy(() => m.main.apply(tf.tensor2d([[CLS_ID, 7, 8, 9]], [1, 4], "int32")).hidden.dataSync() as Float32Array);
  assertClose(re.states[2].data, direct, "discriminator output");
  assert.equal(re.model, "ELECTRA discriminator");
  assert.equal(extractRepresentations({ model: m, sentences, source: { part: "generator" } }).states[1].cols, m.cfg.generatorWidth);
  clf.dispose();
  m.dispose();
});

test("bad input gets a clear error", () => {
  const rnn = new RnnClassifier({ vocabSize: V, embedDim: 4, hidden: 4, seed: 1 });
  const bert = new ElectraModel({ vocabSize: V, width: 8, heads: 2, layers: 1, objective: "bert" });
  assert.throws(() => extractRepresentations({ model: rnn, sentences: [] }), /got no sentences/);
  assert.throws(() => extractRepresentations({ model: rnn, sentences: [[1, 2], []] }), /sentence 1 is empty/);
  assert.throws(() => extractRepresentations({ model: rnn, sentences: [[1, 99]] }), /id 99, outside the model's vocabulary 0\.\.39/);
  assert.throws(() => extractRepresentations({ model: rnn, sentences: [[1]], batchSize: 0 }), /batchSize \(0\)/);
  assert.throws(() => representationSource(bert, { part: "generator" }), /objective "bert" has no generator/);
  assert.throws(() => representationSource(rnn, { part: "main" }), /applies to an ElectraModel only/);
  assert.throws(() => representationSource({} as AnalysableModel), /does not know Object/);
  rnn.dispose();
  bert.dispose();
});
