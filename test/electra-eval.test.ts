// Held-out evaluation of pre-training, frozen features, the linear probe, the corpus task and the views of
// notebook 04 (lib/models/electra_eval.ts, lib/tasks/*, lib/viz/electra.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ElectraModel } from "../lib/models/electra";
import { bigramDetectorAuc, evaluatePretraining, linearProbe, meanPairwiseCosine, sentenceFeatures } from "../lib/models/electra_eval";
import { FIRST_ORDINARY_ID, maskingShares } from "../lib/models/masking";
import { crossEntropyOf, preparePretrainingCorpus, unigramEntropy } from "../lib/tasks/pretraining_corpus";
import { unigramLogProbs } from "../lib/models/electra_heads";
import { ablationTable, showElectraExplanation } from "../lib/viz/electra";
import { Rng } from "../lib/random";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/data/verify";
import { checkpointDir } from "../lib/models/pretrain_cache";

const tiny = { vocabSize: 30, width: 16, heads: 2, layers: 1, maxLen: 12, dropout: 0, positions: "t5" as const, seed: 1 };
const windows = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({ ids: Array.from({ length: 11 }, () => FIRST_ORDINARY_ID + rng.int(23)) }));
};

test("evaluatePretraining: the read-outs each objective has, as finite numbers, in their ranges; no tensors left", () => {
  const held = windows(20, 2);
  for (const objective of ["electra", "electra-15", "bert", "replace-mlm", "all-tokens-mlm"] as const) {
    const model = new ElectraModel({ ...tiny, objective, maskRate: 0.3 });
    evaluatePretraining(model, held.slice(0, 8)); // fills the T5 bias's cache of bucket ids (kept on purpose)
    const before = tf.memory().numTensors;
    const e = evaluatePretraining(model, held, { batchSize: 8, seed: 3 });
    assert.equal(tf.memory().numTensors, before, `${objective}: no tensors left behind`);
    const disc = objective === "electra" || objective === "electra-15";
    assert.equal(Number.isFinite(e.generatorMlm), objective !== "bert", `${objective} generator MLM`);
    assert.equal(Number.isFinite(e.mainMlm), !disc, `${objective} main MLM`);
    // An untrained MLM over 30 ids scores about ln(30) ≈ 3.4; All-Tokens MLM's copy gate halves its loss on
    // the unchanged tokens, so its main loss is lower.
    const lo = (v: number, main: boolean) => (main && objective === "all-tokens-mlm" ? 0.5 : 2.5);
    if (Number.isFinite(e.generatorMlm)) assert.ok(e.generatorMlm > lo(e.generatorMlm, false) && e.generatorMlm < 5, `${objective}: ${e.generatorMlm}`);
    if (Number.isFinite(e.mainMlm)) assert.ok(e.mainMlm > lo(e.mainMlm, true) && e.mainMlm < 5, `${objective}: ${e.mainMlm}`);
    assert.equal(Number.isFinite(e.auc), disc);
    if (disc) {
      assert.ok(e.replacedFraction > 0.1 && e.replacedFraction < 0.35, `share replaced ${e.replacedFraction}`);
      assert.ok(e.baseRate > 0 && e.discLoss > 0 && e.auc >= 0 && e.auc <= 1);
    }
    // Same seed, same numbers: the masking and the samples are seeded.
    assert.deepEqual(evaluatePretraining(model, held, { batchSize: 8, seed: 3 }), e);
    model.dispose();
  }
});

test("frozen features: shapes, collapse measured by the mean cosine, a linear probe that learns a separable task", async () => {
  const model = new ElectraModel({ ...tiny, objective: "bert" });
  const f = sentenceFeatures(model.main, [[8, 9, 10], [11, 12], [13]], { batchSize: 2 });
  assert.deepEqual([f.length, f[0].length], [3, 16]);
  assert.ok(Math.abs(meanPairwiseCosine([[1, 0], [1, 0], [2, 0]]) - 1) < 1e-12, "one direction: collapsed");
  assert.ok(Math.abs(meanPairwiseCosine([[1, 0], [0, 1], [-1, 0]]) - -1 / 3) < 1e-12, "pairs: 0, -1, 0");
  assert.throws(() => meanPairwiseCosine([[1]]), /at least 2 vectors/);
  const rng = new Rng(4);
  const point = (label: number) => ({ label, x: [label * 2 - 1 + 0.3 * (rng.next() - 0.5), rng.next(), rng.next()] });
  const train = Array.from({ length: 200 }, (_, i) => point(i % 2));
  const testSet = Array.from({ length: 100 }, (_, i) => point(i % 2));
  assert.ok((await linearProbe({ train, test: testSet, epochs: 10 })) > 0.95);
  model.dispose();
});

test("corpus task: packed windows from the committed IMDB sample, held-out reviews apart, the unigram entropy", async () => {
  const c = await preparePretrainingCorpus({ reviews: 40, heldOutReviews: 4, vocabSize: 300, windowLength: 15, cache: false, load: { sample: true }, log: () => {} });
  assert.ok(c.train.length > 50 && c.heldOut.length > 3);
  assert.ok([...c.train, ...c.heldOut].every((w) => w.ids.length === 15 && w.ids.every((i) => i >= 0 && i < c.tokenizer.size)));
  const { entropy } = unigramEntropy(c.train);
  assert.equal(entropy, c.unigramEntropy);
  assert.ok(entropy > 3 && entropy < Math.log(300), String(entropy));
  assert.deepEqual(unigramEntropy([{ ids: [7, 7, 8, 8] }]).entropy, Math.log(2));
  // The held-out yardstick: the training frequencies (smoothed) scored on the held-out windows.
  const logp = unigramLogProbs(c.tokenCounts, c.tokenizer.size);
  assert.ok(Math.abs(logp.reduce((a, l) => a + Math.exp(l), 0) - 1) < 1e-9, "a distribution");
  assert.equal(c.heldOutUnigram, crossEntropyOf(c.heldOut, logp));
  const own = unigramEntropy(c.heldOut).entropy;
  assert.ok(c.heldOutUnigram > own, `Gibbs: another distribution's cross-entropy exceeds the held-out tokens' own entropy (${c.heldOutUnigram} vs ${own})`);
  assert.deepEqual(unigramLogProbs(new Map([[1, 1.5]]), 3).map(Math.exp), [0.2, 0.6, 0.2], "unseen ids count 0.5");
  assert.equal(crossEntropyOf([{ ids: [7, 8, 0] }], [0, 0, 0, 0, 0, 0, 0, Math.log(0.5), Math.log(0.25)]), (Math.log(2) + Math.log(4)) / 2, "ordinary ids only");
  assert.throws(() => crossEntropyOf([{ ids: [0, 2] }], [0, 0, 0]), /no ordinary token/);
  await assert.rejects(preparePretrainingCorpus({ reviews: 40, heldOutReviews: 40, cache: false, load: { sample: true } }), /heldOutReviews \(40\) must be an integer from 1 to 39/);
  const shares = maskingShares(c.train.map((w) => w.ids), { rate: 0.25, vocabSize: c.tokenizer.size, seed: 1 });
  const bert = shares.map((r) => r.BERT as number);
  assert.ok(Math.abs(bert[2] - 0.25) < 0.03 && Math.abs(bert[0] - 0.8 * 0.25) < 0.03, String(bert));
});

test("views: the explanation table colours replaced tokens; the ablation table reads the last evaluation", () => {
  const model = new ElectraModel({ ...tiny, objective: "electra", maskRate: 0.5 });
  const { Vocab } = require("../lib/data/vocab") as typeof import("../lib/data/vocab");
  const vocab = Vocab.build([Array.from({ length: 23 }, (_, i) => `w${i}`)]);
  const e = model.explain([8, 9, 10, 11, 12, 13], { seed: 1, vocab });
  const t = showElectraExplanation(e, "x");
  assert.equal(t.cells.length, 6, "five stages and P(replaced)");
  assert.ok(e.labels.some((y) => y === 1) ? /#f4a6a6/.test(t.html) : true);
  assert.throws(() => showElectraExplanation({ ...e, tokens: undefined }, "x"), /needs tokens/);
  const a = ablationTable([{ name: "ELECTRA", paper: 85, scores: [0.7, 0.8], probe: 0.6, cosine: 0.5, flops: 2e12, evals: [evaluatePretraining(model, windows(4, 1))] }], { title: "t", unigram: 6 });
  assert.equal(a.columns[0], "objective");
  assert.equal(a.cells[0][a.columns.indexOf("fine-tuned %")], "75");
  model.dispose();
});

test("bigramDetectorAuc: near 1 where each word fixes its successor, near 0.5 where words are independent", () => {
  // A language of 20 ordinary words where word w is always followed by w + 1 (mod 20): a replacement breaks two pairs.
  const chain = (n: number, seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => {
      const start = rng.int(20);
      return { ids: Array.from({ length: 16 }, (_, i) => FIRST_ORDINARY_ID + ((start + i) % 20)) };
    });
  };
  const ordered = bigramDetectorAuc({ train: chain(400, 1), heldOut: chain(100, 2), maskRate: 0.25, seed: 3 });
  assert.ok(ordered.auc > 0.95, `ordered: ${ordered.auc}`);
  // Share replaced: 25% chosen, minus the 1/20 of samples that equal the original.
  const share = ordered.nReplaced / (ordered.nReplaced + ordered.nOriginal);
  assert.ok(share > 0.2 && share < 0.25, `replaced share ${share}`);
  assert.equal(ordered.countedTokens, 400 * 16);
  // Independent words: neighbours carry nothing, so no count table can rank replacements.
  const iid = bigramDetectorAuc({ train: windows(2000, 1), heldOut: windows(300, 2), maskRate: 0.25, seed: 3 });
  assert.ok(Math.abs(iid.auc - 0.5) < 0.05, `independent words: ${iid.auc}`);
  assert.throws(() => bigramDetectorAuc({ train: [], heldOut: chain(1, 1) }), /needs non-empty train and heldOut/);
  assert.throws(() => bigramDetectorAuc({ train: chain(1, 1), heldOut: chain(1, 1), smoothing: 0 }), /smoothing \(0\) must be a positive pseudo-count/);
  assert.throws(() => bigramDetectorAuc({ train: chain(1, 1), heldOut: chain(1, 1), maskRate: 1.5 }), /maskRate \(1.5\) must be in \(0, 1\)/);
});

test("setUnigramPrior: an untrained MLM head then scores the unigram cross-entropy of the held-out tokens", () => {
  const data = windows(60, 5).map((w) => ({ ids: w.ids.map((id, i) => (i % 3 === 0 ? FIRST_ORDINARY_ID : id)) })); // a skewed distribution
  const { counts, entropy } = unigramEntropy(data);
  const model = new ElectraModel({ ...tiny, objective: "bert", maskRate: 0.5 });
  const before = evaluatePretraining(model, data).mainMlm;
  const tensors = tf.memory().numTensors;
  model.setUnigramPrior(counts);
  assert.equal(tf.memory().numTensors, tensors, "setting the prior leaves no tensor behind");
  const after = evaluatePretraining(model, data).mainMlm;
  // Untrained: about ln(30) = 3.40; with the prior: the entropy of the same tokens (masked ones only, so approximately).
  assert.ok(Math.abs(before - Math.log(30)) < 0.3, `before ${before}`);
  assert.ok(Math.abs(after - entropy) < 0.15 && after < before - 0.3, `after ${after} vs entropy ${entropy}`);
  assert.throws(() => model.setUnigramPrior(new Map([[99, 1]])), /id 99 \(count 1\) is outside the vocabulary 0\.\.29/);
  model.dispose();
  const electra = new ElectraModel({ ...tiny, objective: "electra", maskRate: 0.5 });
  const g0 = evaluatePretraining(electra, data).generatorMlm;
  electra.setUnigramPrior(counts);
  assert.equal(evaluatePretraining(electra, data).generatorMlm, g0, "the generator is left near-uniform by default");
  electra.setUnigramPrior(counts, { generator: true });
  assert.ok(evaluatePretraining(electra, data).generatorMlm < g0 - 0.3);
  electra.dispose();
});

test("writeFileAtomic: replaces a file whole, leaves no temp file, and a failed write leaves the old file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-atomic-"));
  const f = path.join(dir, "a.json");
  writeFileAtomic(f, "old");
  writeFileAtomic(f, Buffer.from("new"));
  assert.equal(fs.readFileSync(f, "utf8"), "new");
  assert.deepEqual(fs.readdirSync(dir), ["a.json"], "no temp file left beside it");
  // Renaming onto a directory fails after the temp file is written: the temp file is removed, the target untouched.
  const blocked = path.join(dir, "sub");
  fs.mkdirSync(path.join(blocked, "x"), { recursive: true });
  assert.throws(() => writeFileAtomic(blocked, "text"));
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a.json", "sub"]);
  assert.deepEqual(fs.readdirSync(blocked), ["x"]);
});

test("the WordPiece cache: written whole, reloaded as the same vocabulary, and a torn cache file is trained again (not a crash)", async () => {
  const vocabSize = 297; // a size no other test or notebook uses: this test owns checkpoints/wordpiece/imdb-297-*
  const dir = path.dirname(checkpointDir("wordpiece-x"));
  const mine = () => (fs.existsSync(path.join(dir, "wordpiece")) ? fs.readdirSync(path.join(dir, "wordpiece")).filter((f) => f.startsWith(`imdb-${vocabSize}-`)) : []);
  for (const f of mine()) fs.rmSync(path.join(dir, "wordpiece", f));
  const logs: string[] = [];
  const make = () => preparePretrainingCorpus({ reviews: 40, heldOutReviews: 4, vocabSize, windowLength: 15, load: { sample: true }, log: (l) => logs.push(l) });
  try {
    const first = await make();
    assert.equal(mine().length, 1, `one cache file, no temp file: ${mine()}`);
    const file = path.join(dir, "wordpiece", mine()[0]);
    const again = await make();
    assert.deepEqual(again.tokenizer.toJSON(), first.tokenizer.toJSON(), "the cache gives back the same vocabulary");
    assert.equal(logs.filter((l) => l.startsWith("trained a WordPiece")).length, 1, "the second call loaded it");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.slice(0, text.length / 2)); // a torn file, as a crash mid-write used to leave
    const repaired = await make();
    assert.ok(logs.some((l) => /cannot be read .*training it again/.test(l)), logs.join("\n"));
    assert.deepEqual(repaired.tokenizer.toJSON(), first.tokenizer.toJSON());
    assert.equal(fs.readFileSync(file, "utf8"), text, "the cache file is whole again");
    assert.deepEqual(mine(), [path.basename(file)]);
  } finally {
    for (const f of mine()) fs.rmSync(path.join(dir, "wordpiece", f));
  }
});
