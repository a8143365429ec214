import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ElectraModel, ElectraBatch, ELECTRA_OBJECTIVES, ElectraObjective, gatherRows, resolveElectraConfig } from "../lib/models/electra";
import { FIRST_ORDINARY_ID, choosePositions, isMaskable, maskTokens, replacedTokenLabels } from "../lib/models/masking";
import { discriminatorLoss } from "../lib/models/electra_heads";
import { trainingFlops } from "../lib/models/flops";
import { cacheStatus, pretrainCached } from "../lib/models/pretrain_cache";
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID, Vocab } from "../lib/data/vocab";
import { TensorBatch } from "../lib/train/model";
import { Trainer } from "../lib/train/trainer";
import { Rng } from "../lib/random";

const tiny = { vocabSize: 27, width: 32, heads: 2, layers: 1, mlpRatio: 2, maxLen: 12, dropout: 0, generatorFraction: 0.5 };
const dispose = (b: TensorBatch) => Object.values(b).forEach((t) => t.dispose());

/** Sentences that repeat one ordinary token: a replacement is detectable from the context alone. */
function constantCorpus(n: number, seed: number): { ids: number[] }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const k = FIRST_ORDINARY_ID + rng.int(20);
    return { ids: Array.from({ length: 6 + rng.int(4) }, () => k) };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Masking.

test("masking chooses ~rate of the ordinary tokens over many sequences, never specials or padding", () => {
  const rng = new Rng(11);
  let chosen = 0;
  let maskable = 0;
  for (let s = 0; s < 3000; s++) {
    const len = 5 + rng.int(40);
    // [CLS] ... [SEP] [PAD]*, with a few [UNK]s and [MASK]s sprinkled in.
    const ids = [CLS_ID, ...Array.from({ length: len }, () => (rng.next() < 0.05 ? rng.int(FIRST_ORDINARY_ID) : FIRST_ORDINARY_ID + rng.int(50))), SEP_ID, PAD_ID, PAD_ID];
    const positions = choosePositions(ids, 0.15, rng);
    const candidates = ids.filter(isMaskable).length;
    for (const p of positions) assert.ok(isMaskable(ids[p]), `chose position ${p} holding special id ${ids[p]}`);
    assert.deepEqual(positions, [...new Set(positions)].sort((a, b) => a - b), "ascending, distinct");
    if (candidates > 0) assert.ok(positions.length >= 1, "at least one position when any is maskable");
    chosen += positions.length;
    maskable += candidates;
  }
  const rate = chosen / maskable;
  assert.ok(Math.abs(rate - 0.15) < 0.01, `rate ${rate}`);
  // Nothing maskable -> nothing chosen.
  assert.deepEqual(choosePositions([CLS_ID, SEP_ID, PAD_ID, MASK_ID], 0.15, rng), []);
  assert.throws(() => choosePositions([9, 9], 0, rng), /masking rate \(0\)/);
});

test("BERT corruption is 80% [MASK] / 10% random ordinary token / 10% unchanged; ELECTRA's is all [MASK]", () => {
  const rng = new Rng(12);
  const vocabSize = 5000; // a random replacement equal to the original is then negligible
  const counts = { mask: 0, random: 0, same: 0 };
  for (let s = 0; s < 1500; s++) {
    const ids = [CLS_ID, ...Array.from({ length: 30 }, () => FIRST_ORDINARY_ID + rng.int(vocabSize - FIRST_ORDINARY_ID))];
    const m = maskTokens(ids, rng, { corruption: "bert", vocabSize });
    assert.deepEqual(m.targets, m.positions.map((p) => ids[p]));
    ids.forEach((id, i) => m.positions.includes(i) || assert.equal(m.input[i], id, "unchosen positions are untouched"));
    for (const p of m.positions) {
      if (m.input[p] === MASK_ID) counts.mask++;
      else if (m.input[p] === ids[p]) counts.same++;
      else (counts.random++, assert.ok(m.input[p] >= FIRST_ORDINARY_ID && m.input[p] < vocabSize));
    }
    const e = maskTokens(ids, rng, { corruption: "mask" });
    for (const p of e.positions) assert.equal(e.input[p], MASK_ID);
  }
  const n = counts.mask + counts.random + counts.same;
  assert.ok(Math.abs(counts.mask / n - 0.8) < 0.02, JSON.stringify(counts));
  assert.ok(Math.abs(counts.random / n - 0.1) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs(counts.same / n - 0.1) < 0.015, JSON.stringify(counts));
  assert.throws(() => maskTokens([9], rng, { corruption: "bert" }), /needs vocabSize/);
});

// ---------------------------------------------------------------------------------------------------------
// Labels and the discriminator loss.

test("label rule: a sampled token equal to the original is labelled original (0)", () => {
  assert.deepEqual(replacedTokenLabels([2, 9, 9, 10, 11], [2, 9, 12, 10, 11]), [0, 0, 1, 0, 0]);
  // Through the model, with a generator whose samples are known: the first chosen position gets its
  // original back, the others a different token.
  const model = new ElectraModel({ ...tiny, maskRate: 0.5, seed: 1 });
  const ids = [9, 10, 11, 12, 13, 14, 15, 16];
  const expected = maskTokens(model.prepare(ids), new Rng(7), { rate: 0.5, corruption: "mask" });
  assert.ok(expected.positions.length >= 3);
  model.sampler = (logits) => {
    assert.deepEqual(logits.shape, [expected.positions.length, 27]);
    return expected.targets.map((t, k) => (k === 0 ? t : t === 20 ? 21 : 20));
  };
  const e = model.explain(ids, { seed: 7 });
  assert.deepEqual(e.positions, expected.positions);
  assert.deepEqual(e.original, [CLS_ID, ...ids]);
  assert.deepEqual(e.masked, expected.input);
  const labels = e.original.map((_, i) => (e.positions.indexOf(i) > 0 ? 1 : 0));
  assert.deepEqual(e.labels, labels);
  assert.equal(e.corrupted[e.positions[0]], e.original[e.positions[0]]);
  assert.equal(e.probs?.length, e.original.length);
  for (const p of e.probs ?? []) assert.ok(p > 0 && p < 1);
  model.dispose();
});

test("discriminator loss: hand-computed value, averaged over real tokens only", () => {
  const softplus = (z: number) => Math.log1p(Math.exp(z));
  const z = [[2, -1, 0.5, 9], [0, 3, -7, -7]];
  const y = [[1, 0, 0, 1], [0, 1, 0, 0]];
  const w = [[1, 1, 1, 0], [1, 1, 0, 0]];
  let sum = 0;
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) if (w[i][j]) sum += softplus(z[i][j]) - y[i][j] * z[i][j];
  const hand = sum / 5;
  const value = (logits: number[][]) => tf.tidy(() => discriminatorLoss(tf.tensor2d(logits), tf.tensor2d(y), tf.tensor2d(w)).dataSync()[0]);
  assert.ok(Math.abs(value(z) - hand) < 1e-6, `${value(z)} vs ${hand}`);
  // Padding logits do not matter; a real token's do.
  assert.ok(Math.abs(value([[2, -1, 0.5, -40], [0, 3, 25, 13]]) - hand) < 1e-6);
  assert.ok(Math.abs(value([[2, -1, 3.5, 9], [0, 3, -7, -7]]) - hand) > 1e-3);
});

test("gatherRows matches tf.gather, forward and gradient", () => {
  const x = tf.randomNormal([6, 3], 0, 1, "float32", 1) as tf.Tensor2D;
  const idx = tf.tensor1d([4, 0, 2], "int32");
  const a = tf.gather(x, idx);
  const b = gatherRows(x, idx);
  assert.deepEqual(a.arraySync(), b.arraySync());
  const ga = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.gather(v, idx))))(x);
  const gb = tf.grad((v: tf.Tensor) => tf.sum(tf.square(gatherRows(v as tf.Tensor2D, idx))))(x);
  assert.deepEqual(ga.arraySync(), gb.arraySync());
  tf.dispose([x, idx, a, b, ga, gb]);
});

// ---------------------------------------------------------------------------------------------------------
// Structure: gradients, sharing, configuration.

test("no gradient reaches the generator from the discriminator loss; the MLM loss does reach it", () => {
  const model = new ElectraModel({ ...tiny, seed: 2 });
  const batch = model.collate(constantCorpus(8, 3));
  const mainVars = new Set(model.main.parameters());
  const named = model.namedParameters();
  const genOnly = [...named].filter(([n, v]) => (n.startsWith("generator") || n.startsWith("generatorHead")) && !mainVars.has(v));
  assert.ok(genOnly.length > 5, "the generator has its own layers");
  const disc = [...named].filter(([n]) => n.startsWith("discHead"));
  const varList = [...genOnly, ...disc].map(([, v]) => v);
  const gradsOf = (part: "main" | "mlm") => tf.variableGrads(() => {
    const l = model.losses(batch, true);
    const keep = part === "main" ? tf.mul(50, l.main) : l.mlm!;
    tf.dispose([l.total, part === "main" ? l.mlm! : l.main]);
    return keep as tf.Scalar;
  }, varList);
  // variableGrads keys gradients by tf.Variable name (absent or null = no path from the loss).
  const gradOf = (r: { grads: tf.NamedTensorMap }, v: tf.Variable) => r.grads[v.name] ?? null;
  const absSum = (r: { grads: tf.NamedTensorMap }, vars: [string, tf.Variable][]): number => {
    let total = 0;
    for (const [, v] of vars) {
      const g = gradOf(r, v);
      if (g) total += tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
    }
    return total;
  };
  const fromDisc = gradsOf("main");
  for (const [n, v] of genOnly) {
    const g = gradOf(fromDisc, v);
    assert.ok(g === null || tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0, `generator variable ${n} got a gradient from L_disc`);
  }
  assert.ok(disc.every(([, v]) => gradOf(fromDisc, v) !== null) && absSum(fromDisc, disc) > 0, "the discriminator head does get gradients (the check above can fail)");
  const fromMlm = gradsOf("mlm");
  assert.ok(absSum(fromMlm, genOnly) > 0, "L_MLM trains the generator");
  tf.dispose([fromDisc.value, fromMlm.value, ...Object.values(fromDisc.grads), ...Object.values(fromMlm.grads)]);
  dispose(batch);
  model.dispose();
});

test("shared embeddings are ONE variable, counted once; sharing none/all; size checks", () => {
  const model = new ElectraModel({ vocabSize: 40, width: 32, heads: 4, layers: 2, generatorFraction: 0.25 });
  const gen = model.generator!;
  assert.equal(gen.embedding, model.main.embedding);
  assert.equal(gen.embedding.table, model.main.embedding.table);
  assert.equal(gen.positions, model.main.positions);
  assert.equal(gen.width, 8);
  assert.equal(gen.blocks[0].attention.heads, 1, "head size 8 kept: 8 / 8 = 1 head");
  assert.ok(gen.embedProjection, "the generator projects the 32-dim embeddings down to 8");
  const named = model.namedParameters();
  const values = [...named.values()];
  assert.equal(values.filter((v) => v === model.main.embedding.table).length, 1);
  assert.ok(named.has("main.embedding.table") && !named.has("generator.embedding.table"));
  assert.equal(model.paramCount(), values.reduce((s, v) => s + v.size, 0));
  const separate = new ElectraModel({ vocabSize: 40, width: 32, heads: 4, layers: 2, generatorFraction: 0.25, sharing: "none" });
  assert.notEqual(separate.generator!.embedding.table, separate.main.embedding.table);
  assert.equal(separate.generator!.embedding.dim, 8);
  const all = new ElectraModel({ vocabSize: 40, width: 32, heads: 4, layers: 2, sharing: "all" });
  assert.equal(all.generator, all.main);
  const bert = new ElectraModel({ vocabSize: 40, width: 32, heads: 4, layers: 2, objective: "bert" });
  assert.equal(bert.generator, undefined);
  assert.ok(all.paramCount() < model.paramCount() + model.main.paramCount());
  assert.throws(() => new ElectraModel({ vocabSize: 40, width: 32, heads: 4, sharing: "all", generatorFraction: 0.25 }), /sharing "all" needs a generator of the main model's size/);
  assert.throws(() => resolveElectraConfig({ vocabSize: 40, width: 32, generatorWidth: 12, generatorHeads: 5 }), /generatorHeads \(5\) must divide generatorWidth \(12\)/);
  assert.throws(() => resolveElectraConfig({ vocabSize: 40, objective: "gan" as never }), /objective "gan" is unknown/);
  assert.equal(resolveElectraConfig({ vocabSize: 40, width: 128, heads: 4, generatorFraction: 1 / 3 }).generatorHeads, 1);
  assert.equal(resolveElectraConfig({ vocabSize: 40, width: 256, heads: 4, generatorFraction: 0.5 }).generatorHeads, 2);
  [model, separate, all, bert].forEach((m) => m.dispose());
});

test("ALiBi's slope scale reaches the discriminator, the generator and the fine-tuned copy; refused without ALiBi", () => {
  const model = new ElectraModel({ vocabSize: 40, width: 32, heads: 4, layers: 1, positions: "alibi", alibiSlopeScale: 4 });
  const slopes = (s: { relativeBias?: unknown }) => (s.relativeBias as { slopes: number[] }).slopes;
  assert.deepEqual(slopes(model.main), [1, 1 / 4, 1 / 16, 1 / 64]);
  assert.deepEqual(slopes(model.generator!), [4 / 256], "the ¼ generator's one head, scaled the same way");
  const clf = model.toClassifier({ numClasses: 2 });
  assert.deepEqual(slopes(clf.encoder), [1, 1 / 4, 1 / 16, 1 / 64], "fine-tuning reads the words as pre-training did");
  // Scale 1 leaves the config as it was before the option existed, so checkpoints cached then still fit.
  assert.ok(!("alibiSlopeScale" in resolveElectraConfig({ vocabSize: 40, positions: "alibi", alibiSlopeScale: 1 })), "no key at scale 1");
  assert.equal(resolveElectraConfig({ vocabSize: 40, positions: "alibi", alibiSlopeScale: 4 }).alibiSlopeScale, 4);
  assert.throws(() => resolveElectraConfig({ vocabSize: 40, positions: "learned", alibiSlopeScale: 4 }), /alibiSlopeScale \(4\) applies to positions "alibi" only/);
  assert.throws(() => resolveElectraConfig({ vocabSize: 40, positions: "alibi", alibiSlopeScale: -1 }), /alibiSlopeScale \(-1\) must be a positive number/);
  clf.dispose();
  model.dispose();
});

test("two-stage: initMainFrom starts ELECTRA from a BERT model's encoder (values copied, not shared); size mismatch is a clear error", async () => {
  const bert = new ElectraModel({ ...tiny, objective: "bert", seed: 1 });
  // A few BERT steps, so the copied weights are trained ones, not a second random init.
  const t1 = new Trainer(bert, { batchSize: 8, maxSteps: 3, epochs: 10, learningRate: 1e-2, seed: 0, progress: false, plot: false });
  await t1.fit(constantCorpus(24, 1));
  t1.dispose();
  const electra = new ElectraModel({ ...tiny, objective: "electra", seed: 2 });
  const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  const src = bert.main.namedParameters();
  const before = [...electra.main.namedParameters()].map(([n, v]) => maxDiff(v, src.get(n)!));
  assert.ok(before.some((d) => d > 1e-3), "different seeds start with different weights");
  assert.equal(electra.initMainFrom(bert), electra);
  for (const [n, v] of electra.main.namedParameters()) assert.equal(maxDiff(v, src.get(n)!), 0, `${n} was not copied`);
  // The generator shares the main model's embeddings, so it starts from BERT's too; its blocks stay its own.
  assert.equal(maxDiff(electra.generator!.embedding.table, bert.main.embedding.table), 0);
  // Copies: training the ELECTRA model afterwards leaves the BERT model untouched.
  const snapshot = tf.clone(bert.main.embedding.table);
  const t2 = new Trainer(electra, { batchSize: 8, maxSteps: 3, epochs: 10, learningRate: 1e-2, seed: 0, progress: false, plot: false });
  const h = await t2.fit(constantCorpus(24, 2));
  t2.dispose();
  assert.ok(h.steps.every((s) => Number.isFinite(s.loss)), "the continued ELECTRA training has finite losses");
  assert.equal(maxDiff(snapshot, bert.main.embedding.table), 0, "training the ELECTRA model changed the BERT model");
  assert.ok(maxDiff(electra.main.embedding.table, bert.main.embedding.table) > 0, "the ELECTRA model did not train its own copy");
  const wider = new ElectraModel({ ...tiny, width: 16, objective: "electra" });
  assert.throws(() => wider.initMainFrom(bert), /copyWeightsFrom: .*shapes differ: .*embedding\.table \[27,32\] vs \[27,16\].*same sizes/);
  [bert, electra, wider, snapshot].forEach((m) => m.dispose());
});

// Which [b, t] positions each objective's main-model loss may look at.
const scoredBy: Record<ElectraObjective, (b: ElectraBatch) => tf.Tensor2D> = {
  "electra": (b) => b.mask,
  "electra-15": (b) => b.chosen,
  "replace-mlm": (b) => b.chosen,
  "all-tokens-mlm": (b) => b.mask,
  "bert": (b) => b.chosen,
};

test("each objective's loss reads only its positions (perturbing hidden states elsewhere changes nothing)", () => {
  for (const objective of ELECTRA_OBJECTIVES) {
    const model = new ElectraModel({ ...tiny, objective, seed: 4 });
    model.sampler = (logits) => Array.from({ length: logits.shape[0] }, (_, k) => FIRST_ORDINARY_ID + (k % 5));
    // Different lengths, so there is padding.
    const batch = model.collate([{ ids: [9, 10, 11, 12, 13, 14, 15, 16, 17] }, { ids: [20, 21, 22, 23] }, { ids: [8, 8, 8, 8, 8, 8] }]);
    const mainLoss = () => tf.tidy(() => model.losses(batch, false).main.dataSync()[0]);
    const mlmLoss = () => tf.tidy(() => model.losses(batch, false).mlm?.dataSync()[0] ?? 0);
    const base = mainLoss();
    const baseMlm = mlmLoss();
    const perturb = (enc: { apply: Function }, where: tf.Tensor2D) => {
      const original = enc.apply.bind(enc);
      (enc as { apply: Function }).apply = (ids: tf.Tensor, o: object) => {
        const r = original(ids, o);
        const noise = tf.mul(tf.randomNormal(r.hidden.shape, 0, 3, "float32", 9), tf.expandDims(where, 2));
        return { ...r, hidden: tf.add(r.hidden, noise) };
      };
      return () => delete (enc as { apply?: Function }).apply;
    };
    const scored = scoredBy[objective](batch);
    const elsewhere = tf.sub(1, scored) as tf.Tensor2D;
    let restore = perturb(model.main, elsewhere);
    assert.ok(Math.abs(mainLoss() - base) < 1e-5, `${objective}: unscored positions moved the loss`);
    restore();
    restore = perturb(model.main, scored);
    assert.ok(Math.abs(mainLoss() - base) > 1e-4, `${objective}: scored positions must move the loss (control)`);
    restore();
    if (model.generator && model.generator !== model.main) {
      const notChosen = tf.sub(1, batch.chosen) as tf.Tensor2D;
      restore = perturb(model.generator, notChosen);
      assert.ok(Math.abs(mlmLoss() - baseMlm) < 1e-5, `${objective}: the generator's MLM loss is on the masked positions only`);
      restore();
      notChosen.dispose();
    }
    // A full backward pass works for every objective and reaches every weight of the main model.
    const { value, grads } = tf.variableGrads(() => model.loss(batch, true));
    assert.ok(Number.isFinite(value.dataSync()[0]), `${objective}: loss ${value.dataSync()[0]}`);
    for (const [n, v] of model.main.namedParameters()) assert.ok(grads[v.name], `${objective}: no gradient for main.${n}`);
    tf.dispose([value, ...Object.values(grads)]);
    elsewhere.dispose();
    dispose(batch);
    model.dispose();
  }
});

test("FLOPs estimate matches a hand count for a tiny config", () => {
  const cfg = {
    vocabSize: 10, width: 4, layers: 1, mlpRatio: 2, generatorWidth: 2, generatorLayers: 1, generatorEmbeddingDim: 4,
    maskRate: 1 / 3, seqLen: 3, batchSize: 2,
  };
  // Main model (d=4, f=8, t=3), per token: QKV 2·4·12=96, out 2·4·4=32, MLP 2·4·8+2·8·4=128,
  // scores + weighted sum 2·3·4+2·3·4=48 -> 304; ×3 tokens = 912. Binary head 2·4·4+2·4=40 per token -> 120.
  // Generator (d=2, f=4): QKV 24, out 8, MLP 32, attention 24 -> 88, + projection 4->2: 16 -> 104 per token,
  // ×3 = 312; MLM head at the 1 masked token: dense 2·2·4=16 + tied output 2·4·10=80 -> 96.
  const electra = trainingFlops({ ...cfg, objective: "electra" });
  assert.equal(electra.mainForward, 2 * (912 + 120));
  assert.equal(electra.generatorForward, 2 * (312 + 96));
  assert.equal(electra.forward, 2 * 1440);
  assert.equal(electra.training, 3 * 2880);
  // BERT: main encoder + MLM head (dense 2·4·4=32 + output 80) at 1 masked token, no generator.
  const bert = trainingFlops({ ...cfg, objective: "bert" });
  assert.deepEqual(bert, { generatorForward: 0, mainForward: 2 * (912 + 112), forward: 2048, training: 6144 });
  // The model's own accounting uses its config (same numbers for the same sizes).
  const model = new ElectraModel({ vocabSize: 10, width: 4, heads: 1, layers: 1, mlpRatio: 2, generatorWidth: 2, maskRate: 1 / 3 });
  assert.deepEqual(model.trainingFlops({ batchSize: 2, seqLen: 3 }), electra);
  model.dispose();
  assert.throws(() => trainingFlops({ ...cfg, objective: "electra", seqLen: 0 }), /seqLen \(0\)/);
});

// ---------------------------------------------------------------------------------------------------------
// Training end to end.

/** Area under the ROC curve: how often a replaced token gets a higher P(replaced) than an original one. */
function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

test("pre-training lowers the loss, the discriminator learns to spot replacements, tensors stay flat; fine-tuning trains", async () => {
  const corpus = constantCorpus(256, 5);
  const model = new ElectraModel({ ...tiny, seed: 1 });
  const metrics: { total: number; mlmLoss: number; discLoss: number; replacedFraction: number }[] = [];
  const tensors: number[] = [];
  const trainer = new Trainer(model, {
    batchSize: 32, maxSteps: 60, learningRate: 5e-3, seed: 1, progress: false, plot: false,
    onStep: () => (metrics.push({ ...model.lastMetrics! }), tensors.push(tf.memory().numTensors)),
  });
  await trainer.fit(corpus);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const first = metrics.slice(0, 5);
  const last = metrics.slice(-5);
  for (const m of metrics) for (const v of Object.values(m)) assert.ok(typeof v === "number" && Number.isFinite(v));
  // (Margins checked over model seeds 1-3: total ratio <= 0.65, MLM drop >= 1.0, disc/chance <= 0.85, AUC >= 0.72.)
  assert.ok(mean(last.map((m) => m.total)) < 0.75 * mean(first.map((m) => m.total)), "total loss falls");
  assert.ok(mean(last.map((m) => m.mlmLoss)) < mean(first.map((m) => m.mlmLoss)) - 0.5, "generator MLM loss falls");
  // Better than any guess that ignores the tokens: below the entropy of the replaced rate.
  const q = mean(last.map((m) => m.replacedFraction));
  const entropy = -q * Math.log(q) - (1 - q) * Math.log(1 - q);
  assert.ok(mean(last.map((m) => m.discLoss)) < 0.92 * entropy, `disc loss ${mean(last.map((m) => m.discLoss))} vs chance ${entropy}`);
  assert.ok(tensors.slice(1).every((n) => n === tensors[1]), `tensor count grew: ${tensors.join(",")}`);

  // Held-out sentences: replaced tokens get higher P(replaced) than original ones (AUC 0.5 = chance).
  const pos: number[] = [];
  const neg: number[] = [];
  constantCorpus(120, 99).forEach((e, i) => {
    const x = model.explain(e.ids, { seed: i });
    x.labels.forEach((y, j) => j > 0 && (y ? pos : neg).push(x.probs![j]));
  });
  assert.ok(pos.length > 50);
  assert.ok(auc(pos, neg) > 0.68, `AUC ${auc(pos, neg)}`);
  // Untrained discriminator for contrast.
  const fresh = new ElectraModel({ ...tiny, seed: 1 });
  const fp: number[] = [];
  const fn: number[] = [];
  constantCorpus(120, 99).forEach((e, i) => {
    const x = fresh.explain(e.ids, { seed: i });
    x.labels.forEach((y, j) => j > 0 && (y ? fp : fn).push(x.probs![j]));
  });
  assert.ok(auc(fp, fn) < auc(pos, neg) - 0.12, `untrained AUC ${auc(fp, fn)}`);
  fresh.dispose();

  // Fine-tuning: the generator is dropped, the (copied) discriminator gets a head and trains.
  const clf = model.toClassifier({ pooling: "mean", seed: 3 });
  assert.equal(clf.paramCount(), model.main.paramCount() + 32 * 2 + 2);
  const mainTable = model.main.embedding.table.dataSync().slice();
  assert.deepEqual(clf.encoder.embedding.table.dataSync(), mainTable, "starts from the pre-trained weights");
  const rng = new Rng(8);
  const labelled = (n: number) => Array.from({ length: n }, () => {
    const label = rng.int(2);
    return { ids: Array.from({ length: 4 + rng.int(4) }, () => FIRST_ORDINARY_ID + label * 10 + rng.int(10)), label };
  });
  const ft = new Trainer(clf, { batchSize: 16, epochs: 3, learningRate: 3e-3, progress: false, plot: false });
  await ft.fit(labelled(96));
  assert.ok(ft.score(labelled(60), "accuracy") >= 0.9);
  assert.deepEqual(model.main.embedding.table.dataSync(), mainTable, "fine-tuning a copy leaves the pre-trained model as it was");
  clf.dispose();
  model.dispose();
});

test("explain() gives plain data with tokens; lastMetrics holds numbers only", () => {
  const vocab = Vocab.build([["a", "b", "c", "d", "e", "f", "g", "h"]]);
  const model = new ElectraModel({ ...tiny, vocabSize: vocab.size, seed: 6 });
  const e = model.explain(vocab.encode(["a", "b", "c", "d", "e", "f"]), { seed: 3, vocab });
  assert.equal(e.tokens?.original[0], "[CLS]");
  assert.deepEqual(e.tokens?.original.slice(1), ["a", "b", "c", "d", "e", "f"]);
  assert.equal(e.positions.length, 1, "15% of 6 tokens, rounded stochastically, at least 1");
  assert.equal(e.tokens?.masked[e.positions[0]], "[MASK]");
  assert.equal(e.samples.length, 1);
  assert.equal(e.corrupted[e.positions[0]], e.samples[0]);
  assert.deepEqual(e.labels, replacedTokenLabels(e.original, e.corrupted));
  // Same seed, same table.
  assert.deepEqual(model.explain(vocab.encode(["a", "b", "c", "d", "e", "f"]), { seed: 3, vocab }), e);
  const batch = model.collate([{ ids: vocab.encode(["a", "b", "c", "d"]) }, { ids: vocab.encode(["e", "f"]) }]);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    model.loss(batch, false);
  });
  assert.equal(tf.memory().numTensors, before);
  for (const v of Object.values(model.lastMetrics!)) assert.equal(typeof v, "number");
  dispose(batch);
  model.dispose();
  const bert = new ElectraModel({ ...tiny, objective: "bert" });
  assert.throws(() => bert.explain([9, 10]), /has no generator/);
  bert.dispose();
});

test("pretrainCached trains once, then loads; a changed key or force retrains", async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "electra-cache-")), "ck");
  let trained = 0;
  const make = () => new ElectraModel({ ...tiny, seed: 1 });
  const train = (m: ElectraModel) => {
    trained++;
    tf.tidy(() => m.main.embedding.table.assign(tf.fill(m.main.embedding.table.shape, 0.5)));
    return { curve: [3, 2, 1] };
  };
  const log = () => {};
  const a = await pretrainCached({ dir, make, train, key: { steps: 10 }, log });
  assert.equal(a.loaded, false);
  const b = await pretrainCached({ dir, make, train, key: { steps: 10 }, log });
  assert.equal(b.loaded, true);
  assert.equal(trained, 1);
  assert.deepEqual(b.result, { curve: [3, 2, 1] });
  assert.equal(b.model.main.embedding.table.dataSync()[0], 0.5);
  // cacheStatus answers pretrainCached's question without building a model, naming the setting that differs.
  const status = (key: Record<string, unknown>, alsoNeeds?: () => { cached: boolean; why: string }) => cacheStatus({ dir, model: "ElectraModel", config: a.model.config(), key, alsoNeeds });
  assert.equal(status({ steps: 10 }).cached, true);
  assert.deepEqual(status({ steps: 20 }), { cached: false, why: `${path.relative(process.cwd(), dir)} was made with a different configuration (cacheKey.steps: saved 10, model 20)` });
  assert.match(status({ steps: 10 }, () => ({ cached: false, why: "lacks its snapshot at step 5" })).why, /lacks its snapshot at step 5/);
  assert.match(cacheStatus({ dir: `${dir}-none`, model: "ElectraModel", config: {} }).why, /nothing is cached at/);
  const logs: string[] = [];
  const c = await pretrainCached({ dir, make, train, key: { steps: 20 }, log: (l) => logs.push(l) });
  assert.equal(c.loaded, false);
  assert.match(logs[0], /cache does not fit: .*cacheKey\.steps: saved 10, model 20.*; training again/);
  const d = await pretrainCached({ dir, make, train, key: { steps: 20 }, force: true, log });
  assert.equal(d.loaded, false);
  assert.equal(trained, 3);
  // What alsoNeeds asks for (a run's snapshots, say) is part of the decision: missing -> train again.
  const e = await pretrainCached({ dir, make, train, key: { steps: 20 }, alsoNeeds: () => ({ cached: false, why: "a snapshot is missing" }), log: (l) => logs.push(l) });
  assert.deepEqual([e.loaded, trained], [false, 4]);
  assert.match(logs.at(-2)!, /cache does not fit: a snapshot is missing; training again/);
  [a, b, c, d, e].forEach((r) => r.model.dispose());
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});
