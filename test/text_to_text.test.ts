// T5's text-to-text framing (lib/tasks/text_to_text.ts): mixing rates by T5 §3.5.2's formulas, the mixer's task
// proportions and even use of each task's examples, one vocabulary over tasks tokenized their own ways, prefixes
// as plain-text words, prefix swaps, per-task evaluation; and the denoising data of BART (lib/tasks/denoising.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateTasks, mixExamples, mixingRates, sharedVocabularyTask, swapPrefix, textToText } from "../lib/tasks/text_to_text";
import { denoisingExamples, prepareBartSpelling, textWindows } from "../lib/tasks/denoising";
import { prepareCogs } from "../lib/tasks/cogs";
import { prepareSpelling } from "../lib/tasks/spelling";
import { prepareToyTask } from "../lib/tasks/seq2seq_toy";
import { MASK_ID, SEP_ID } from "../lib/data/vocab";
import { StepDecoder } from "../lib/decode";
import * as tf from "@tensorflow/tfjs";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("mixing rates: proportional with a limit K, temperature-scaled, equal (T5 §3.5.2)", () => {
  const sizes = [1000, 100, 10];
  mixingRates(sizes, { kind: "proportional" }).forEach((r, i) => close(r, sizes[i] / 1110));
  // K = 100: min(e, K) = 100, 100, 10.
  mixingRates(sizes, { kind: "proportional", limit: 100 }).forEach((r, i) => close(r, [100, 100, 10][i] / 210));
  const t2 = mixingRates(sizes, { kind: "temperature", temperature: 2 });
  const raw = sizes.map((n) => Math.sqrt(n / 1110));
  t2.forEach((r, i) => close(r, raw[i] / raw.reduce((a, b) => a + b, 0)));
  mixingRates(sizes, { kind: "temperature", temperature: 1 }).forEach((r, i) => close(r, sizes[i] / 1110, 1e-12));
  const hot = mixingRates(sizes, { kind: "temperature", temperature: 1000 });
  hot.forEach((r) => close(r, 1 / 3, 0.01));
  assert.deepEqual(mixingRates(sizes, { kind: "equal" }), [1 / 3, 1 / 3, 1 / 3]);
  assert.throws(() => mixingRates(sizes, { kind: "temperature", temperature: 0 }), /temperature \(0\) must be a positive number/);
  assert.throws(() => mixingRates([5, 0], { kind: "equal" }), /positive example count of every task/);
  assert.throws(() => mixingRates(sizes, { kind: "uniform" } as never), /mixing strategy "uniform" is unknown: use one of proportional, temperature, equal/);
});

test("the mixer draws each task at its rate (within binomial noise) and cycles through each task's examples evenly", () => {
  const sets = [Array.from({ length: 50 }, (_, i) => `a${i}`), Array.from({ length: 7 }, (_, i) => `b${i}`), ["c0", "c1"]];
  const rates = [0.6, 0.3, 0.1];
  const n = 20000;
  const { examples, tasks } = mixExamples(sets, { rates, count: n, seed: 3 });
  assert.equal(examples.length, n);
  rates.forEach((r, m) => {
    const share = tasks.filter((t) => t === m).length / n;
    assert.ok(Math.abs(share - r) < 4 * Math.sqrt((r * (1 - r)) / n), `task ${m}: ${share} vs ${r}`);
  });
  examples.forEach((e, i) => assert.equal(e[0], "abc"[tasks[i]], "each example comes from the task it is labelled with"));
  // Task b (7 examples): every example used floor or ceil of (draws / 7) times.
  const bDraws = examples.filter((e) => e.startsWith("b"));
  const uses = new Map<string, number>();
  bDraws.forEach((e) => uses.set(e, (uses.get(e) ?? 0) + 1));
  for (const u of uses.values()) assert.ok(Math.abs(u - bDraws.length / 7) <= 1, `uneven use: ${[...uses.values()]}`);
  assert.deepEqual(mixExamples(sets, { rates, count: 10, seed: 3 }).examples, examples.slice(0, 10), "seeded");
  assert.throws(() => mixExamples(sets, { rates: [0.5, 0.5], count: 3 }), /must be 3 non-negative numbers summing to 1/);
});

test("text-to-text: one vocabulary, each task tokenized its own way, the prefix's words first in every source", async () => {
  const cogs = await prepareCogs({ sample: true, trainSize: 200, evalSize: 20, genPerCategory: 1 });
  const spelling = await prepareSpelling({ sample: true, devSize: 20, testSize: 20 });
  const { vocab, tasks } = textToText([{ prefix: "parse:", task: cogs }, { prefix: "spell:", task: spelling }]);
  const [parse, spell] = tasks;
  assert.deepEqual(parse.codec.sourceVocab.tokens, spell.codec.targetVocab.tokens, "one vocabulary");
  assert.deepEqual(parse.codec.targetVocab.tokens, vocab.tokens);
  assert.ok(parse.codec.shared && spell.codec.shared);
  assert.deepEqual(parse.prefixIds, [vocab.id("parse:")]);
  const p = parse.train[0];
  assert.deepEqual(p.source, [vocab.id("parse:"), ...vocab.encode(cogs.codec.sourceTokens(cogs.train[0].sourceText))]);
  assert.equal(p.sourceText, `parse: ${cogs.train[0].sourceText}`);
  const s = spell.test[0];
  assert.deepEqual(s.source.slice(1), vocab.encode(Array.from(spelling.test[0].sourceText)), "characters after the prefix");
  assert.equal(spell.codec.decodeTarget(s.target), spelling.test[0].targetText, "characters joined back without spaces");
  assert.equal(parse.codec.decodeTarget(p.target), cogs.train[0].targetText, "symbols joined back with spaces");
  assert.ok(parse.extra.gen.length > 0 && parse.extra.gen[0].source[0] === parse.prefixIds[0], "COGS's gen split kept, prefixed");
  const swapped = swapPrefix(s, spell, parse);
  assert.deepEqual(swapped.source, [parse.prefixIds[0], ...s.source.slice(1)]);
  assert.equal(swapped.sourceText, `parse: ${spelling.test[0].sourceText}`);
  assert.throws(() => swapPrefix(p, spell, parse), /does not start with the prefix "spell:"/);
  assert.throws(() => textToText([{ prefix: "a:", task: cogs }, { prefix: "a:", task: spelling }]), /prefix "a:" is used by two tasks/);
  const alone = sharedVocabularyTask(cogs);
  assert.ok(alone.codec.shared && alone.prefixIds.length === 0 && alone.train[0].sourceText === cogs.train[0].sourceText);
});

test("per-task evaluation decodes each task with its own codec", async () => {
  const toyA = prepareToyTask({ task: "copy", trainSize: 20, evalSize: 5, symbols: 3, length: [2, 3] });
  const toyB = prepareToyTask({ task: "reverse", trainSize: 20, evalSize: 5, symbols: 3, length: [2, 3], seed: 9 });
  const { tasks } = textToText([{ prefix: "copy:", task: toyA }, { prefix: "reverse:", task: toyB }]);
  // A "model" that answers every source with its own tokens after the prefix: right on copy, wrong on most reversals.
  const echo: StepDecoder = {
    targetVocabSize: tasks[0].codec.targetVocab.size, maxTargetLen: 5,
    beginDecoding: (sources) => ({ carry: { step: tf.zeros([sources.length]) }, memory: { src: tf.tensor2d(sources.map((s) => [...s.slice(1), 6, 6, 6, 6, 6].slice(0, 6)), undefined, "int32") } }),
    decodeStep: (_prev, state) => tf.tidy(() => {
      const step = state.carry.step.dataSync()[0];
      const next = state.memory.src.slice([0, step], [-1, 1]).reshape([-1]);
      return { logits: tf.oneHot(next.toInt(), tasks[0].codec.targetVocab.size).mul(10) as tf.Tensor2D, carry: { step: tf.add(state.carry.step, 1) } };
    }),
  };
  const rows = await evaluateTasks({ model: echo, tasks });
  assert.deepEqual(rows.map((r) => r.prefix), ["copy:", "reverse:"]);
  assert.equal(rows[0].evaluation.exactMatch, 1);
  assert.ok(rows[1].evaluation.exactMatch < 1);
});

test("denoising data: word-boundary windows, fresh noise per draw, one character vocabulary with spelling", async () => {
  const w = textWindows(["the cat sat on the mat. a dog ran", "tiny"], { maxChars: 12, minChars: 4 });
  assert.deepEqual(w, ["the cat sat", "on the mat.", "a dog ran", "tiny"]);
  const data = await prepareBartSpelling({ sample: true, documents: 200, heldOut: 20, maxChars: 32, minCount: 1, spelling: { devSize: 20, testSize: 20 } });
  assert.equal(data.vocab.id("[MASK]"), MASK_ID);
  assert.ok(data.documents.every((d) => d.length <= 32 && d === d.toLowerCase()));
  for (const p of data.spelling.train.slice(0, 50)) assert.ok(!p.source.includes(1) && !p.target.includes(1), "spelling characters are all in the vocabulary");
  const ex = denoisingExamples({ documents: data.documents, vocab: data.vocab, noise: [{ kind: "infill" }], count: 400, seed: 2 });
  assert.equal(ex.length, 400);
  ex.forEach((e) => assert.equal(data.corpus.codec.decodeTarget(e.target), e.targetText));
  assert.ok(ex.every((e) => e.source.includes(MASK_ID) || e.targetText.length < 3), "infilling leaves a mask");
  // Documents come back with different noise when drawn again.
  const firstDraw = new Map<string, string>();
  let differs = 0;
  for (const e of ex) {
    const seen = firstDraw.get(e.targetText);
    if (seen === undefined) firstDraw.set(e.targetText, e.sourceText);
    else if (seen !== e.sourceText) differs++;
  }
  assert.ok(differs > 50, `fresh noise per draw (${differs})`);
  const copy = denoisingExamples({ documents: data.documents, vocab: data.vocab, noise: [], count: 5 });
  copy.forEach((e) => assert.deepEqual(e.source, e.target));
  assert.ok(!data.spelling.train[0].source.includes(SEP_ID));
});
