// The transformer seq2seq family (lib/models/seq2seq/transformer_seq2seq.ts): each architecture's attention
// pattern (the library's masks, and the weights the model really computes), padding invariance, no loss on source
// tokens, cached decoding = recomputing decoding (tokens and scores, greedy and beam, every position scheme),
// FLOP accounting, flat memory, learning a toy task, bad options.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TransformerSeq2Seq, TransformerSeq2SeqOptions } from "../lib/models/seq2seq/transformer_seq2seq";
import { SEQ2SEQ_ARCHITECTURES, Seq2SeqArchitecture, attentionPatterns } from "../lib/models/seq2seq/architectures";
import { blockFlops, encoderForwardFlops, seq2seqTrainingFlops } from "../lib/models/flops";
import { beamSearch, greedyDecode } from "../lib/decode";
import { kvCacheComparison } from "../lib/decode/cache_check";
import { Trainer } from "../lib/train/trainer";
import { disposeBatch } from "../lib/train/model";
import { Seq2SeqExample } from "../lib/data/seq2seq";
import { prepareToyTask } from "../lib/tasks/seq2seq_toy";
import { evaluateSeq2Seq } from "../lib/eval/seq2seq_eval";
import { Rng } from "../lib/random";

const V = 20;
const model = (architecture: Seq2SeqArchitecture, o: Partial<TransformerSeq2SeqOptions> = {}) => {
  const m = new TransformerSeq2Seq({ architecture, vocabSize: V, width: 16, heads: 2, layers: 2, dropout: 0, maxTargetLen: 7, seed: 3, ...o });
  m.warn = () => {};
  return m;
};
const randomIds = (rng: Rng, n: number) => Array.from({ length: n }, () => 7 + rng.int(V - 7));
function examples(seed: number, count: number): Seq2SeqExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => ({ source: randomIds(rng, 2 + rng.int(6)), target: randomIds(rng, 1 + rng.int(5)) }));
}
const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("attention patterns: full encoder, causal decoder, cross everywhere; decoder-only causal; prefix LM full over [x ; SEP]", () => {
  const [enc, dec, cross] = attentionPatterns("encoder-decoder", 2, 3);
  assert.deepEqual(enc.allowed, [[1, 1], [1, 1]]);
  assert.deepEqual(dec.allowed, [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assert.deepEqual(cross.allowed, [[1, 1], [1, 1], [1, 1]]);
  const [lm] = attentionPatterns("decoder-only", 2, 2);
  assert.deepEqual(lm.queries, ["x1", "x2", "SEP", "BOS", "y1"]);
  assert.deepEqual(lm.allowed, [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]);
  const [prefix] = attentionPatterns("prefix-lm", 2, 2);
  assert.deepEqual(prefix.allowed, [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]);
  assert.throws(() => attentionPatterns("lm" as Seq2SeqArchitecture, 2, 2), /architecture "lm" is unknown: use one of encoder-decoder, decoder-only, prefix-lm/);
});

test("the weights each architecture computes follow its pattern (zero exactly where hidden, never on padding)", () => {
  const ex = [{ source: [7, 8, 9], target: [10, 11] }, { source: [12], target: [13] }];
  for (const arch of SEQ2SEQ_ARCHITECTURES) {
    const m = model(arch);
    const batch = m.collate(ex);
    tf.tidy(() => {
      const f = m.forward(batch, { returnAttention: true });
      if (arch === "encoder-decoder") {
        const w = f.encoderAttentions![0].arraySync()[0][0]; // example 0, head 0: 3 real source tokens
        w.forEach((row) => row.forEach((x) => assert.ok(x > 0, "full attention over the source")));
        const d = f.decoderAttentions![0].arraySync()[0][1];
        d.forEach((row, i) => row.forEach((x, j) => assert.ok(j > i ? x === 0 : x > 0, `decoder ${i}->${j}: ${x}`)));
        const c = f.crossAttentions![1].arraySync()[1][0]; // example 1 has 1 real source token of 3
        c.forEach((row) => (close(row[0], 1, 1e-6), assert.ok(row[1] < 1e-6 && row[2] < 1e-6, "padding gets no weight")));
      } else {
        // Example 1: [PAD PAD 12 SEP | BOS 13 PAD]; columns 0-1 are left padding.
        const w = f.decoderAttentions![1].arraySync()[1][1];
        const P = 4;
        w.forEach((row, i) => row.forEach((x, j) => {
          if (i < 2) return; // padding queries: outputs unused
          const allowed = j >= 2 && (j <= i || (arch === "prefix-lm" && j < P)) && j < 6;
          assert.ok(allowed ? x > 0 : x < 1e-6, `${arch} ${i}->${j}: ${x}`);
        }));
      }
    });
    disposeBatch(batch);
    m.dispose();
  }
});

test("padding invariance: an example scores the same alone and beside longer sources and targets (alibi, t5, learned)", () => {
  const one = { source: [7, 8], target: [9, 10] };
  const long = { source: [11, 12, 13, 14, 15, 16], target: [17, 18, 19, 7, 8] };
  for (const arch of SEQ2SEQ_ARCHITECTURES) {
    for (const positions of ["alibi", "t5", "learned"] as const) {
      const m = model(arch, { positions });
      const alone = m.collate([one]);
      const mixed = m.collate([long, one]);
      tf.tidy(() => {
        const a = m.forward(alone).logits.arraySync()[0];
        const b = m.forward(mixed).logits.arraySync()[1];
        a.forEach((row, t) => row.forEach((x, v) => close(x, b[t][v], 2e-4)));
        close(m.loss(alone, false).dataSync()[0], m.loss(m.collate([one]), false).dataSync()[0]);
      });
      disposeBatch(alone);
      disposeBatch(mixed);
      m.dispose();
    }
  }
});

test("decoder-only and prefix LM: the loss counts target tokens only, never the source", () => {
  for (const arch of ["decoder-only", "prefix-lm"] as const) {
    const m = model(arch);
    const batch = m.collate([{ source: [7, 8, 9], target: [10, 11] }]);
    tf.tidy(() => {
      // Run the stack by hand over the whole packed sequence [7 8 9 SEP BOS 10 11] and score every next token.
      const seq = batch.sequenceIds;
      const h = m.decoder.apply(seq, { mask01: batch.sequenceMask, prefixLength: arch === "prefix-lm" ? 4 : 0 }).hidden;
      const logp = tf.logSoftmax(m.output.apply(h)).arraySync() as number[][][];
      const ids = seq.arraySync() as number[][];
      const next = (i: number, tok: number) => -logp[0][i][tok];
      const targetOnly = (next(4, 10) + next(5, 11) + next(6, 6 /* EOS */)) / 3;
      const withSource = (next(0, 8) + next(1, 9) + next(2, ids[0][3]) + next(3, ids[0][4]) + 3 * targetOnly) / 7;
      close(m.loss(batch, false).dataSync()[0], targetOnly, 1e-5);
      assert.ok(Math.abs(withSource - targetOnly) > 1e-3, "the two definitions differ here, so the test can tell them apart");
    });
    disposeBatch(batch);
    m.dispose();
  }
});

test("kvCacheComparison: one row per model (tokens with EOS, both timings), and a wrong cache throws", async () => {
  const sources = examples(6, 5).map((e) => e.source);
  const ed = model("encoder-decoder", { seed: 12 });
  const lm = model("decoder-only", { seed: 13 });
  const rows = await kvCacheComparison({ models: [{ label: "ed", model: ed }, { label: "lm", model: lm }], sources, maxLength: 8 });
  assert.deepEqual(rows.map((r) => r.model), ["ed", "lm"]);
  const greedyTokens = greedyDecode(ed, sources, { maxLength: 8 }).reduce((s, h) => s + h.tokens.length + 1, 0);
  assert.equal(rows[0]["generated tokens"], greedyTokens);
  for (const r of rows) assert.ok(r["ms, with cache"] >= 1 && r["ms, recomputing"] >= 1 && Math.abs(r["speed-up"] - r["ms, recomputing"] / r["ms, with cache"]) < 1e-12);
  // A "cache" that decodes like another model is caught, naming the model.
  const other = model("encoder-decoder", { seed: 99 });
  const broken = Object.assign(Object.create(Object.getPrototypeOf(ed)), ed, { recomputingDecoder: () => other.recomputingDecoder() });
  await assert.rejects(kvCacheComparison({ models: [{ label: "broken", model: broken }], sources, maxLength: 8 }), /broken: decoding with the cache differs from recomputing on source \d/);
  await assert.rejects(kvCacheComparison({ models: [], sources }), /needs models/);
  await assert.rejects(kvCacheComparison({ models: [{ label: "ed", model: ed }], sources: [] }), /needs sources/);
  await assert.rejects(kvCacheComparison({ models: [{ label: "ed", model: ed }], sources, maxLength: 0 }), /maxLength \(0\) must be a positive integer/);
  for (const m of [ed, lm, other]) m.dispose();
});

test("cached decoding gives the same tokens and scores as recomputing the prefix (greedy and beam, every scheme)", () => {
  const sources = examples(5, 4).map((e) => e.source);
  for (const arch of SEQ2SEQ_ARCHITECTURES) {
    for (const positions of ["alibi", "t5", "learned", "sinusoidal"] as const) {
      const m = model(arch, { positions, seed: 11 });
      const slow = m.recomputingDecoder();
      const g1 = greedyDecode(m, sources);
      const g2 = greedyDecode(slow, sources);
      g1.forEach((h, i) => (assert.deepEqual(h.tokens, g2[i].tokens, `${arch}/${positions} greedy ${i}`), close(h.logProb, g2[i].logProb)));
      const b1 = beamSearch(m, sources, { beamSize: 3, lengthPenalty: 0.6 });
      const b2 = beamSearch(slow, sources, { beamSize: 3, lengthPenalty: 0.6 });
      b1.forEach((hs, i) => hs.forEach((h, j) => {
        assert.deepEqual(h.tokens, b2[i][j].tokens, `${arch}/${positions} beam ${i}.${j}`);
        close(h.score, b2[i][j].score);
      }));
      assert.ok(g1.some((h) => h.tokens.length > 2), "the outputs are long enough to exercise the cache");
      m.dispose();
    }
  }
});

test("FLOPs: blocks counted per token and per key; an L+L encoder-decoder costs about an L-layer decoder-only model", () => {
  // One layer, width 2, MLP 4, 3 tokens, 3 keys: 3·(2·2·6 + 2·2·2 + 2·2·4 + 2·4·2 + 4·3·2) = 3·88.
  assert.equal(blockFlops({ width: 2, layers: 1, mlpRatio: 2, queries: 3, keys: 3 }), 264);
  // + cross-attention to 5 context tokens: 3·(8 + 8 + 4·5·2) + 5·(2·2·4).
  assert.equal(blockFlops({ width: 2, layers: 1, mlpRatio: 2, queries: 3, keys: 3, contextLength: 5 }), 264 + 168 + 80);
  assert.equal(encoderForwardFlops({ width: 2, layers: 1, mlpRatio: 2, embeddingDim: 2, seqLen: 3 }), 264);
  const spec = { width: 128, mlpRatio: 4, vocabSize: 100, sourceLength: 20, targetLength: 20, batchSize: 1 };
  const ed = seq2seqTrainingFlops({ ...spec, architecture: "encoder-decoder", encoderLayers: 2, decoderLayers: 2 });
  const lm = seq2seqTrainingFlops({ ...spec, architecture: "decoder-only", encoderLayers: 0, decoderLayers: 2 });
  const pl = seq2seqTrainingFlops({ ...spec, architecture: "prefix-lm", encoderLayers: 0, decoderLayers: 2 });
  assert.equal(lm.training, pl.training, "a prefix LM computes the same scores");
  assert.ok(ed.training / lm.training > 0.9 && ed.training / lm.training < 1.3, `ratio ${ed.training / lm.training}`);
  assert.equal(ed.training, 3 * ed.forward);
  const m = model("encoder-decoder");
  assert.equal(m.trainingFlops({ sourceLength: 5, targetLength: 4, batchSize: 2 }), seq2seqTrainingFlops({ architecture: "encoder-decoder", width: 16, mlpRatio: 4, encoderLayers: 2, decoderLayers: 2, vocabSize: V, sourceLength: 5, targetLength: 4, batchSize: 2 }).training);
  m.dispose();
  assert.throws(() => seq2seqTrainingFlops({ ...spec, architecture: "decoder-only", encoderLayers: 0, decoderLayers: 0 }), /decoderLayers \(0\) must be positive/);
});

test("training and decoding keep tf.memory flat; parameters: one shared embedding, two stacks vs one", () => {
  const data = examples(7, 64);
  for (const arch of SEQ2SEQ_ARCHITECTURES) {
    const m = model(arch);
    const trainer = new Trainer(m, { batchSize: 16, progress: false, plot: false });
    trainer.trainBatch(data.slice(0, 16));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) trainer.trainBatch(data.slice(16 * i, 16 * i + 16));
    assert.equal(tf.memory().numTensors, before, `${arch}: training leaks tensors`);
    const decode = () => {
      greedyDecode(m, data.slice(0, 5).map((e) => e.source));
      beamSearch(m, data.slice(0, 5).map((e) => e.source), { beamSize: 2 });
      greedyDecode(m.recomputingDecoder(), data.slice(0, 3).map((e) => e.source));
    };
    decode(); // the first decode may fill ALiBi's per-shape bias cache (bounded by maxLen)
    const afterFirst = tf.memory().numTensors;
    decode();
    assert.equal(tf.memory().numTensors, afterFirst, `${arch}: decoding leaks tensors`);
    trainer.dispose();
    m.dispose();
  }
  const [ed, lm] = [model("encoder-decoder"), model("decoder-only")];
  assert.equal([...ed.namedParameters().keys()].filter((k) => k.endsWith("embedding.table") || k.endsWith("embedding.weight")).length, 1, "one token embedding");
  // Two stacks of 2 layers (plus cross-attention) vs one stack of 2 layers, same embedding and output layer.
  assert.ok(ed.paramCount() > lm.paramCount() && ed.paramCount() - lm.paramCount() > 2 * 12 * 16 * 16, `${ed.paramCount()} vs ${lm.paramCount()}`);
  ed.dispose();
  lm.dispose();
});

test("each architecture learns to reverse short strings (held-out exact match far above chance, loss falls)", async () => {
  const task = prepareToyTask({ task: "reverse", trainSize: 1200, evalSize: 60, symbols: 5, length: [2, 5], seed: 1 });
  for (const architecture of SEQ2SEQ_ARCHITECTURES) {
    const m = new TransformerSeq2Seq({ architecture, vocabSize: task.codec.sourceVocab.size, width: 32, heads: 2, layers: 2, dropout: 0, maxTargetLen: 8, seed: 0 });
    const trainer = new Trainer(m, { batchSize: 32, learningRate: 6e-3, maxSteps: 200, epochs: 100, progress: false, plot: false, clipNorm: 1 });
    const h = await trainer.fit(task.train);
    const last = h.steps.slice(-20).reduce((s, x) => s + x.loss, 0) / 20;
    assert.ok(h.steps[0].loss > 1.5 && last < 0.4, `${architecture}: loss ${h.steps[0].loss} -> ${last}`);
    const ev = await evaluateSeq2Seq({ model: m, codec: task.codec, examples: task.test });
    // Chance is about 5^-3.5 ≈ 0.4%; measured 0.90 / 0.68 / 0.67 (encoder-decoder / decoder-only / prefix LM).
    assert.ok(ev.exactMatch >= 0.5, `${architecture}: exact match ${ev.exactMatch}`);
    trainer.dispose();
    m.dispose();
  }
});

test("bad options and inputs are named with their fix", () => {
  assert.throws(() => new TransformerSeq2Seq({ architecture: "lm" as Seq2SeqArchitecture, vocabSize: V }), /architecture "lm" is unknown/);
  assert.throws(() => new TransformerSeq2Seq({ architecture: "decoder-only", vocabSize: V, encoderLayers: 2 }), /a decoder-only model has one stack: set layers/);
  assert.throws(() => new TransformerSeq2Seq({ vocabSize: 5 }), /vocabSize \(5\) must include the special tokens/);
  assert.throws(() => new TransformerSeq2Seq({ vocabSize: V, width: 10, heads: 4 }), /heads \(4\) must divide width \(10\)/);
  const m = model("prefix-lm");
  assert.throws(() => m.collate([{ source: [7, 99], target: [8] }]), /example 0 has id 99, outside the model's vocabulary \(20\)/);
  m.dispose();
});

test("decoding length: absolute positions cap it at maxTargetLen + 1 with an error naming the fix; relative biases do not", () => {
  const m = model("encoder-decoder"); // maxTargetLen 7, sinusoidal positions
  assert.equal(m.maxDecodeLength, 8);
  assert.equal(m.recomputingDecoder().maxDecodeLength, 8);
  const sources = [[7, 8, 9]];
  assert.throws(() => greedyDecode(m, sources, { maxLength: 9 }), /maxLength \(9\) is more than this model can generate: 8 tokens.*maxLength <= 8.*larger maxTargetLen/);
  assert.throws(() => beamSearch(m, sources, { beamSize: 2, maxLength: 9 }), /maxLength \(9\) is more than this model can generate/);
  const [h] = greedyDecode(m, sources, { maxLength: 8 });
  assert.ok(h.tokens.length <= 8);
  for (const architecture of ["decoder-only", "prefix-lm"] as const) {
    const [g] = greedyDecode(model(architecture), sources);
    assert.ok(g.tokens.length <= 8, `${architecture}: ${g.tokens.length} tokens`);
  }
  const relative = model("encoder-decoder", { positions: "t5" });
  assert.equal(relative.maxDecodeLength, undefined);
  assert.equal(greedyDecode(relative, sources, { maxLength: 12 }).length, 1);
  m.dispose();
  relative.dispose();
});
