// The decoders (lib/decode): beam search on a toy model whose best sequence is known (beam finds it, greedy
// does not; k = 1 is greedy), the length penalty, sampling statistics, results independent of batch
// composition and padding, decoders' scores equal to teacher-forced scoring, flat memory, bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { beamSearch, decodeAll, greedyDecode, lengthPenalty, sampleDecode } from "../lib/decode";
import { DecoderState, StepDecoder, StepOutput } from "../lib/decode/step";
import { EOS_ID } from "../lib/data/vocab";
import { RnnSeq2Seq } from "../lib/models/seq2seq/rnn_seq2seq";
import { Rng } from "../lib/random";

// A Markov "model": the next-token distribution depends only on the previous token (ids: 5 = BOS, 6 = EOS,
// 7 = a, 8 = b, vocabulary 9). From BOS: a 0.6, b 0.4. After a: a 0.34, b 0.33, EOS 0.33. After b: EOS 0.9,
// a 0.05, b 0.05. Greedy takes a, then a again and again (0.34 each) until maxLength; the most probable
// sequence is "b EOS" (0.4 · 0.9 = 0.36) — beam search with k = 2 finds it.
const A = 7;
const B = 8;
const V = 9;
function markovTable(): number[][] {
  const row = (p: Record<number, number>) => Array.from({ length: V }, (_, j) => Math.log(p[j] ?? 1e-12));
  const t = Array.from({ length: V }, () => row({ [EOS_ID]: 1 }));
  t[5] = row({ [A]: 0.6, [B]: 0.4 });
  t[A] = row({ [A]: 0.34, [B]: 0.33, [EOS_ID]: 0.33 });
  t[B] = row({ [EOS_ID]: 0.9, [A]: 0.05, [B]: 0.05 });
  return t;
}
class MarkovModel implements StepDecoder {
  readonly targetVocabSize = V;
  readonly maxTargetLen = 6;
  private readonly table = tf.keep(tf.tensor2d(markovTable()));
  steps = 0;
  beginDecoding(sources: number[][]): DecoderState {
    // A per-row step counter as carry and the source length as memory: both must follow their rows.
    return {
      carry: { count: tf.zeros([sources.length, 1]) },
      memory: { length: tf.tensor2d(sources.map((s) => [s.length])) },
    };
  }
  decodeStep(prev: tf.Tensor1D, state: DecoderState): StepOutput {
    this.steps++;
    return tf.tidy(() => ({ logits: tf.gather(this.table, prev) as tf.Tensor2D, carry: { count: tf.add(state.carry.count, 1) } }));
  }
}

test("beam search finds the most probable sequence where greedy does not", () => {
  const m = new MarkovModel();
  const greedy = greedyDecode(m, [[9]])[0];
  assert.deepEqual(greedy.tokens, [A, A, A, A, A, A, A]); // never stops: maxLength = maxTargetLen + 1 = 7
  assert.equal(greedy.finished, false);
  near(greedy.logProb, Math.log(0.6) + 6 * Math.log(0.34));
  const beams = beamSearch(m, [[9]], { beamSize: 2 })[0];
  assert.deepEqual(beams[0].tokens, [B]);
  assert.equal(beams[0].finished, true);
  near(beams[0].logProb, Math.log(0.4 * 0.9));
  assert.ok(beams[0].logProb > greedy.logProb);
  // The 2-best list, best first: "b" then "a b" (0.6 · 0.33 · 0.9 = 0.178).
  assert.deepEqual(beams[1].tokens, [A, B]);
  near(beams[1].logProb, Math.log(0.6 * 0.33 * 0.9));
});

test("beam search with k = 1 is greedy decoding (tokens and scores), on the toy and on a random RNN", () => {
  const m = new MarkovModel();
  const g = greedyDecode(m, [[9]])[0];
  const b = beamSearch(m, [[9]], { beamSize: 1 })[0][0];
  assert.deepEqual(b.tokens, g.tokens);
  near(b.logProb, g.logProb);
  const rnn = randomRnn();
  const sources = randomSources(6, 11);
  const gs = greedyDecode(rnn, sources, { maxLength: 8 });
  const bs = beamSearch(rnn, sources, { beamSize: 1, maxLength: 8, lengthPenalty: 0.6 });
  gs.forEach((h, i) => {
    assert.deepEqual(bs[i][0].tokens, h.tokens);
    near(bs[i][0].logProb, h.logProb, 1e-4);
  });
  rnn.dispose();
});

test("Wu et al.'s length penalty: lp = ((5 + |Y|) / 6)^α, and α > 0 favours the longer hypothesis", () => {
  near(lengthPenalty(1, 0.6), 1);
  near(lengthPenalty(7, 1), 2);
  near(lengthPenalty(10, 0), 1);
  const m = new MarkovModel();
  // With α = 0 the 2-best are ranked by log-probability; a strong α moves "a b" (3 tokens with EOS) above "b" (2).
  const plain = beamSearch(m, [[9]], { beamSize: 2, lengthPenalty: 0 })[0];
  const penalised = beamSearch(m, [[9]], { beamSize: 2, lengthPenalty: 5 })[0];
  assert.deepEqual(plain[0].tokens, [B]);
  assert.deepEqual(penalised[0].tokens, [A, B]);
  near(penalised[0].score, Math.log(0.6 * 0.33 * 0.9) / lengthPenalty(3, 5));
});

test("sampling: temperature and top-k shape the distribution; seeds repeat; top-1 is greedy", () => {
  const m = new MarkovModel();
  const sources = Array.from({ length: 400 }, () => [9]);
  const first = (opts: Parameters<typeof sampleDecode>[2]) => sampleDecode(m, sources, { maxLength: 1, ...opts }).map((h) => h.tokens[0]);
  const share = (xs: number[], tok: number) => xs.filter((x) => x === tok).length / xs.length;
  const t1 = first({ seed: 1 });
  assert.ok(Math.abs(share(t1, A) - 0.6) < 0.07, `T = 1 samples a with p 0.6, got ${share(t1, A)}`);
  // T = 0.25 sharpens: p(a) = 0.6^4 / (0.6^4 + 0.4^4) = 0.835
  const cold = first({ seed: 1, temperature: 0.25 });
  assert.ok(Math.abs(share(cold, A) - 0.835) < 0.06, `T = 0.25: ${share(cold, A)}`);
  assert.ok(first({ seed: 2, topK: 1 }).every((t) => t === A));
  assert.deepEqual(first({ seed: 3 }), first({ seed: 3 }));
  assert.notDeepEqual(first({ seed: 3 }), first({ seed: 4 }));
  // logProb is under the model itself (T = 1), whatever the sampling temperature.
  const h = sampleDecode(m, [[9]], { seed: 1, temperature: 0.1 })[0];
  const table = markovTable();
  let lp = 0;
  let prev = 5;
  for (const t of [...h.tokens, ...(h.finished ? [EOS_ID] : [])]) (lp += table[prev][t], (prev = t));
  near(h.logProb, lp);
});

function near(a: number, b: number, tol = 1e-5): void {
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
}

function randomRnn(attention: "general" | "none" | "concat" | "dot" = "general"): RnnSeq2Seq {
  return new RnnSeq2Seq({ sourceVocabSize: 20, targetVocabSize: 15, embedDim: 8, hidden: 8, attention, dropout: 0.3, seed: 5, maxTargetLen: 10 });
}

function randomSources(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(9) }, () => 7 + rng.int(13)));
}

test("decoding a source alone, or padded inside any batch, gives the same output (greedy, beam, sampling)", async () => {
  for (const attention of ["general", "none"] as const) {
    const rnn = randomRnn(attention);
    const sources = randomSources(7, 3);
    const alone = sources.map((s) => greedyDecode(rnn, [s])[0]);
    const together = greedyDecode(rnn, sources);
    const beamAlone = sources.map((s) => beamSearch(rnn, [s], { beamSize: 3 })[0]);
    const beamTogether = beamSearch(rnn, sources, { beamSize: 3 });
    const sampled = await decodeAll(rnn, sources, { strategy: { kind: "sample", seed: 9 }, batchSize: 7 });
    const sampledSmall = await decodeAll(rnn, sources, { strategy: { kind: "sample", seed: 9 }, batchSize: 2 });
    sources.forEach((_, i) => {
      assert.deepEqual(together[i].tokens, alone[i].tokens, `${attention} greedy, source ${i}`);
      near(together[i].logProb, alone[i].logProb, 1e-4);
      assert.deepEqual(beamTogether[i].map((h) => h.tokens), beamAlone[i].map((h) => h.tokens), `${attention} beam, source ${i}`);
      beamTogether[i].forEach((h, j) => near(h.score, beamAlone[i][j].score, 1e-4));
      assert.deepEqual(sampled[i][0].tokens, sampledSmall[i][0].tokens, `${attention} sample, source ${i}`);
    });
    // The batch really was padded (lengths differ) and decodeAll restores the input order.
    assert.ok(new Set(sources.map((s) => s.length)).size > 2);
    const viaAll = await decodeAll(rnn, sources, { batchSize: 3 });
    viaAll.forEach((hs, i) => assert.deepEqual(hs[0].tokens, alone[i].tokens));
    rnn.dispose();
  }
});

test("a decoder's logProb equals the model's teacher-forced score of the same output (with and without input feeding)", () => {
  for (const feeding of [true, false]) {
    // A small target vocabulary, so that even an untrained model ends most outputs with EOS.
    const rnn = new RnnSeq2Seq({ sourceVocabSize: 20, targetVocabSize: 9, embedDim: 8, hidden: 8, attention: "concat", inputFeeding: feeding, layers: 2, seed: 5, maxTargetLen: 12 });
    const sources = randomSources(5, 8);
    const beams = beamSearch(rnn, sources, { beamSize: 3 });
    const examples = beams.flatMap((hs, i) => hs.filter((h) => h.finished).map((h) => ({ source: sources[i], target: h.tokens, lp: h.logProb })));
    assert.ok(examples.length >= 3, `only ${examples.length} finished hypotheses`);
    const scored = rnn.scoreTargets(examples);
    examples.forEach((e, i) => near(scored[i], e.lp, 1e-4));
    rnn.dispose();
  }
});

test("memory stays flat over repeated decoding (greedy, beam, sampling, attention kept)", async () => {
  const rnn = randomRnn("dot");
  const sources = randomSources(5, 4);
  const round = async () => {
    greedyDecode(rnn, sources, { returnAttention: true });
    beamSearch(rnn, sources, { beamSize: 3 });
    await decodeAll(rnn, sources, { strategy: { kind: "sample", topK: 3, temperature: 0.7 }, batchSize: 2 });
  };
  await round();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await round();
  assert.equal(tf.memory().numTensors, before);
  rnn.dispose();
});

test("greedy decoding returns the attention weights of each step, rows summing to 1 over the real source", () => {
  const rnn = randomRnn("general");
  const [h] = greedyDecode(rnn, [[7, 8, 9, 10]], { returnAttention: true, maxLength: 5 });
  assert.equal(h.attention!.length, h.tokens.length + (h.finished ? 1 : 0));
  for (const row of h.attention!) {
    assert.equal(row.length, 4);
    near(row.reduce((a, b) => a + b, 0), 1);
  }
  rnn.dispose();
});

test("bad decoding input names the fix", async () => {
  const m = new MarkovModel();
  assert.throws(() => beamSearch(m, [[9]], { beamSize: 0 }), /beamSize \(0\) must be an integer >= 1/);
  assert.throws(() => beamSearch(m, [[9]], { beamSize: 2, nBest: 3 }), /nBest \(3\)/);
  assert.throws(() => beamSearch(m, [[9]], { lengthPenalty: -1 }), /lengthPenalty/);
  assert.throws(() => greedyDecode(m, [[]]), /source 0 is empty/);
  assert.throws(() => greedyDecode(m, []), /at least one source/);
  assert.throws(() => greedyDecode(m, [[9]], { maxLength: 0 }), /maxLength \(0\)/);
  assert.throws(() => sampleDecode(m, [[9]], { temperature: 0 }), /temperature \(0\)/);
  assert.throws(() => sampleDecode(m, [[9]], { topK: -2 }), /topK \(-2\)/);
  await assert.rejects(decodeAll(m, [[9]], { strategy: { kind: "nucleus" } as never }), /strategy "nucleus" is unknown: use one of greedy, beam, sample/);
  await assert.rejects(decodeAll(m, [[9]], { strategy: { kind: "beam", beamSize: 2 }, returnAttention: true }), /works with greedy decoding only/);
});
