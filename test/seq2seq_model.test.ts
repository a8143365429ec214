// The seq2seq pipeline and the RNN encoder-decoder: teacher forcing, masks and truncation, the codec, bad
// input; a model trained on the copy task through the one Trainer decodes it perfectly; memory stays flat over
// training steps; padding never changes the loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Seq2SeqCodec, collateSeq2Seq, teacherForcing } from "../lib/data/seq2seq";
import { BOS_ID, EOS_ID, PAD_ID } from "../lib/data/vocab";
import { RnnSeq2Seq } from "../lib/models/seq2seq/rnn_seq2seq";
import { prepareToyTask } from "../lib/tasks/seq2seq_toy";
import { evaluateSeq2Seq } from "../lib/eval/seq2seq_eval";
import { Trainer } from "../lib/train/trainer";
import { traceMemory, useBestBackend } from "../lib/engine";
import { decodeAll } from "../lib/decode";
import { exactMatch } from "../lib/eval/sequence_metrics";

test("teacher forcing: decoder input is BOS + target, decoder target is target + EOS; masks mark real tokens", () => {
  assert.deepEqual(teacherForcing([9, 8]), { input: [BOS_ID, 9, 8], output: [9, 8, EOS_ID] });
  const b = collateSeq2Seq([{ source: [7, 8, 9], target: [10] }, { source: [11], target: [12, 13, 14] }]);
  assert.deepEqual(b.sourceIds.arraySync(), [[7, 8, 9], [11, PAD_ID, PAD_ID]]);
  assert.deepEqual(b.sourceMask.arraySync(), [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(b.decoderInput.arraySync(), [[BOS_ID, 10, PAD_ID, PAD_ID], [BOS_ID, 12, 13, 14]]);
  assert.deepEqual(b.decoderTarget.arraySync(), [[10, EOS_ID, PAD_ID, PAD_ID], [12, 13, 14, EOS_ID]]);
  assert.deepEqual(b.targetMask.arraySync(), [[1, 1, 0, 0], [1, 1, 1, 1]]);
  Object.values(b).forEach((t) => t.dispose());
});

test("collation: long sources and targets are truncated with one warning, a cut target gets no EOS weight; bad input errors", () => {
  const warnings: string[] = [];
  const b = collateSeq2Seq([{ source: [7, 8, 9, 10], target: [11, 12, 13] }, { source: [7], target: [11] }], { maxSourceLen: 2, maxTargetLen: 2, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /truncated 1 source\(s\) to 2 and 1 target\(s\) to 2 tokens; raise maxSourceLen\/maxTargetLen/);
  assert.deepEqual(b.sourceIds.shape, [2, 2]);
  assert.deepEqual(b.decoderTarget.arraySync()[0], [11, 12, EOS_ID]);
  assert.deepEqual(b.targetMask.arraySync(), [[1, 1, 0], [1, 1, 0]]);
  Object.values(b).forEach((t) => t.dispose());
  assert.throws(() => collateSeq2Seq([]), /empty batch/);
  assert.throws(() => collateSeq2Seq([{ source: [], target: [7] }]), /example 0 has an empty source/);
  assert.throws(() => collateSeq2Seq([{ source: [7, 1.5], target: [] }]), /integer ids/);
  const model = new RnnSeq2Seq({ sourceVocabSize: 10, targetVocabSize: 10, embedDim: 4, hidden: 4 });
  assert.throws(() => model.collate([{ source: [7, 12], target: [8] }]), /id 12, outside the model's vocabularies \(source 10, target 10\)/);
  assert.throws(() => new RnnSeq2Seq({ sourceVocabSize: 10, targetVocabSize: 5 }), /targetVocabSize \(5\) must include the special tokens/);
  model.dispose();
});

test("codec: word, character and whitespace sides, shared or separate vocabularies, decoding stops at EOS", () => {
  const pairs = [{ source: "A dog runs.", target: "* dog ( x _ 1 )" }, { source: "Cats sleep!", target: "cat ( x _ 0 )" }];
  const c = Seq2SeqCodec.build(pairs, { source: { tokenization: "word", lowercase: true }, target: { tokenization: "whitespace" } });
  assert.deepEqual(c.sourceTokens("A dog runs."), ["a", "dog", "runs", "."]);
  const e = c.encode(pairs[0]);
  assert.equal(c.decodeTarget([...e.target, EOS_ID, 9, 9]), "* dog ( x _ 1 )");
  assert.equal(c.decodeSource(e.source), "a dog runs.");
  assert.notEqual(c.sourceVocab, c.targetVocab);
  const chars = Seq2SeqCodec.build([{ source: "recieve", target: "receive" }], { source: { tokenization: "char" }, target: { tokenization: "char" }, shared: true });
  assert.equal(chars.sourceVocab, chars.targetVocab);
  assert.equal(chars.decodeTarget(chars.encodeTarget("receive")), "receive");
  const back = Seq2SeqCodec.fromJSON(JSON.parse(JSON.stringify(c.toJSON())));
  assert.deepEqual(back.encode(pairs[1]), c.encode(pairs[1]));
  assert.throws(() => Seq2SeqCodec.build(pairs, { source: { tokenization: "bpe" as "word" }, target: { tokenization: "word" } }), /source.tokenization "bpe" is unknown/);
});

test("padding a batch does not change an example's loss (source and target padding are masked)", () => {
  const model = new RnnSeq2Seq({ sourceVocabSize: 20, targetVocabSize: 20, embedDim: 8, hidden: 8, attention: "concat", dropout: 0, seed: 3 });
  const one = { source: [7, 8, 9], target: [10, 11] };
  const long = { source: [7, 8, 9, 10, 11, 12, 13, 14], target: [10, 11, 12, 13, 14, 15] };
  const [alone] = model.scoreTargets([one]);
  const [padded] = model.scoreTargets([long, one]).slice(1);
  assert.ok(Math.abs(alone - padded) < 1e-4, `${alone} vs ${padded}`);
  model.dispose();
});

test("a model trained on the copy task with the Trainer decodes it perfectly", async () => {
  await useBestBackend(); // native TensorFlow when it is built: the pure-JS backend takes minutes here
  const task = prepareToyTask({ task: "copy", trainSize: 2000, evalSize: 100, symbols: 8, length: [2, 6], seed: 1 });
  const size = task.codec.sourceVocab.size;
  const model = new RnnSeq2Seq({ sourceVocabSize: size, targetVocabSize: size, embedDim: 16, hidden: 64, attention: "general", dropout: 0, seed: 0 });
  // A decaying learning rate lets the last steps settle: at a constant 5e-3 one test string in 100-200 kept a
  // doubled or dropped repeated letter (seeds 0-2 measured); with the decay all were copied exactly.
  const trainer = new Trainer(model, { batchSize: 32, epochs: 3, learningRate: 5e-3, schedule: { kind: "linear", finalFraction: 0.05 }, clipNorm: 5, progress: false, plot: false });
  const history = await trainer.fit(task.train);
  assert.ok(history.steps[history.steps.length - 1].loss < 0.02, `final loss ${history.steps[history.steps.length - 1].loss}`);
  const outs = await decodeAll(model, task.test.map((e) => e.source));
  assert.equal(exactMatch(task.test.map((e) => e.target), outs.map((h) => h[0].tokens)), 1);
  // The same through evaluateSeq2Seq, on text: every test string copied exactly.
  const r = await evaluateSeq2Seq({ model, codec: task.codec, examples: task.test, metrics: ["cer"] });
  assert.equal(r.exactMatch, 1);
  assert.equal(r.cer, 0);
  trainer.dispose();
  model.dispose();
});

test("memory stays flat across training steps (LSTM with attention, GRU without)", () => {
  for (const [cell, attention] of [["lstm", "general"], ["gru", "none"]] as const) {
    const model = new RnnSeq2Seq({ sourceVocabSize: 16, targetVocabSize: 16, embedDim: 8, hidden: 8, cell, attention, layers: 2, seed: 1 });
    const trainer = new Trainer(model, { progress: false, plot: false, clipNorm: 1 });
    const batch = prepareToyTask({ task: "reverse", trainSize: 4, evalSize: 1, symbols: 9, seed: 3 }).train;
    const trace = traceMemory(() => trainer.trainBatch(batch), { steps: 10, warmup: 2 });
    assert.ok(trace.flat, `${cell}/${attention} grew: ${trace.growth}`);
    trainer.dispose();
    model.dispose();
  }
});
