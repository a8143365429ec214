// BART's noising functions (lib/data/noising.ts), tested on their statistics over many seeded draws: masking and
// deletion rates, infilling's coverage and Poisson(3) span lengths and its reconstruction, permutation keeping the
// multiset of sentences (each order equally likely), rotation keeping the cyclic order (each start equally likely).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyNoise, applySpans, describeNoise, documentRotation, sampleInfillingSpans, samplePoisson, sentencePermutation,
  splitSentences, textInfilling, tokenDeletion, tokenMasking,
} from "../lib/data/noising";
import { Rng } from "../lib/random";

const M = "[MASK]";
const doc = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`);
/** |x - expected| within k binomial standard errors of a proportion p over n trials. */
const near = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);
function withinBinomial(x: number, p: number, n: number, k = 4): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(x - p) <= k * se, `${x.toFixed(4)} is not within ${k} s.e. (${se.toFixed(4)}) of ${p}`);
}

test("Poisson(3) draws: mean 3, variance 3, P(0) = e^-3", () => {
  const rng = new Rng(1);
  const xs = Array.from({ length: 20000 }, () => samplePoisson(3, rng));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
  assert.ok(Math.abs(mean - 3) < 4 * Math.sqrt(3 / xs.length), `mean ${mean}`);
  assert.ok(Math.abs(variance - 3) < 0.15, `variance ${variance}`);
  withinBinomial(xs.filter((x) => x === 0).length / xs.length, Math.exp(-3), xs.length);
  assert.throws(() => samplePoisson(0, rng), /λ \(0\) must be in \(0, 50\)/);
});

test("token masking: each token masked with probability rate, the others unchanged", () => {
  const rng = new Rng(2);
  const d = doc(500);
  let masked = 0;
  for (let r = 0; r < 40; r++) {
    const out = tokenMasking(d, { mask: M, rng, rate: 0.3 });
    assert.equal(out.length, d.length);
    out.forEach((t, i) => (t === M ? masked++ : assert.equal(t, d[i])));
  }
  withinBinomial(masked / (40 * 500), 0.3, 40 * 500);
  assert.throws(() => tokenMasking(d, { mask: M, rng, rate: 1.5 }), /rate \(1.5\) must be in \[0, 1\]/);
});

test("token deletion: the kept tokens are an in-order subsequence, 1 − rate of them", () => {
  const rng = new Rng(3);
  const d = doc(400);
  let kept = 0;
  for (let r = 0; r < 50; r++) {
    const out = tokenDeletion(d, { rng, rate: 0.3 });
    const idx = out.map((t) => Number(t.slice(1)));
    assert.ok(idx.every((x, i) => i === 0 || x > idx[i - 1]), "order kept");
    kept += out.length;
  }
  withinBinomial(kept / (50 * 400), 0.7, 50 * 400);
});

test("text infilling: spans cover exactly round(0.3·n) tokens, lengths are Poisson(3), each span is one mask, undoable", () => {
  const rng = new Rng(4);
  for (let r = 0; r < 300; r++) {
    const n = 1 + rng.int(150);
    const d = doc(n);
    const spans = sampleInfillingSpans(n, { rng, rate: 0.3, lambda: 3 });
    assert.equal(spans.reduce((s, x) => s + x.length, 0), Math.round(0.3 * n), "coverage");
    spans.forEach((s, i) => assert.ok(i === 0 || s.start >= spans[i - 1].start + spans[i - 1].length, "disjoint and sorted"));
    const out = applySpans(d, spans, M);
    assert.equal(out.filter((t) => t === M).length, spans.length, "one mask per span, 0-length spans included");
    assert.equal(out.length, n - Math.round(0.3 * n) + spans.length);
    // Undo: each mask back to its span's tokens gives the document.
    let k = 0;
    const restored = out.flatMap((t) => (t === M ? d.slice(spans[k].start, spans[k].start + spans[k++].length) : [t]));
    assert.deepEqual(restored, d);
  }
  // Span lengths on long documents (where shortening one span per document barely matters): Poisson(3).
  const lengths = Array.from({ length: 100 }, () => sampleInfillingSpans(1000, { rng }).map((s) => s.length)).flat();
  const mean = lengths.reduce((s, x) => s + x, 0) / lengths.length;
  assert.ok(Math.abs(mean - 3) < 4 * Math.sqrt(3 / lengths.length), `mean span length ${mean} (n = ${lengths.length})`);
  const zeros = lengths.filter((x) => x === 0).length / lengths.length;
  withinBinomial(zeros, Math.exp(-3), lengths.length);
  assert.ok(zeros > 0, "0-length spans occur: they insert a mask");
});

test("text infilling places spans at random: coverage symmetric, flat inside the document, 0.3 on average", () => {
  const rng = new Rng(5);
  const n = 40;
  const draws = 4000;
  const cover = new Array<number>(n).fill(0);
  for (let r = 0; r < draws; r++) for (const s of sampleInfillingSpans(n, { rng })) for (let i = s.start; i < s.start + s.length; i++) cover[i] += 1 / draws;
  near(cover.reduce((a, b) => a + b, 0) / n, 0.3, 1e-9);
  const se = Math.sqrt((0.3 * 0.7) / draws);
  cover.forEach((c, i) => assert.ok(Math.abs(c - cover[n - 1 - i]) < 5 * Math.SQRT2 * se, `position ${i} (${c.toFixed(3)}) vs its mirror (${cover[n - 1 - i].toFixed(3)})`));
  const inner = cover.slice(6, n - 6);
  const innerMean = inner.reduce((a, b) => a + b, 0) / inner.length;
  inner.forEach((c) => assert.ok(Math.abs(c - innerMean) < 5 * se, `inner coverage ${c.toFixed(3)} vs ${innerMean.toFixed(3)}`));
  assert.ok(cover[0] < innerMean, "the first token is covered less often (fewer arrangements reach it)");
  assert.deepEqual(textInfilling([], { mask: M, rng }), []);
});

test("sentence permutation keeps the multiset of sentences; each of the 3! orders about equally likely", () => {
  const text = Array.from("Hi there. How are you? Fine!");
  const sentences = splitSentences(text).map((s) => s.join(""));
  assert.deepEqual(sentences, ["Hi there. ", "How are you? ", "Fine!"]);
  const rng = new Rng(6);
  const counts = new Map<string, number>();
  const draws = 3000;
  for (let r = 0; r < draws; r++) {
    const out = sentencePermutation(text, { rng });
    const parts = splitSentences(out).map((s) => s.join("").trim());
    assert.deepEqual([...parts].sort(), sentences.map((s) => s.trim()).sort());
    const key = parts.join("|");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  for (const c of counts.values()) withinBinomial(c / draws, 1 / 6, draws);
  // Ids with a custom sentence end.
  assert.deepEqual([...sentencePermutation([1, 2, 0, 3, 0], { rng: new Rng(0), isSentenceEnd: (t) => t === 0 })].sort(), [0, 0, 1, 2, 3]);
});

test("document rotation keeps the cyclic order and starts at each token about equally often", () => {
  const d = doc(10);
  const rng = new Rng(7);
  const starts = new Array<number>(10).fill(0);
  const draws = 5000;
  for (let r = 0; r < draws; r++) {
    const out = documentRotation(d, { rng });
    const k = d.indexOf(out[0]);
    assert.deepEqual(out, [...d.slice(k), ...d.slice(0, k)]);
    starts[k]++;
  }
  starts.forEach((c) => withinBinomial(c / draws, 0.1, draws));
});

test("compositions are seeded, applied in order, named as BART's table, and check their options", () => {
  const d = Array.from("The cat sat. The dog ran.");
  const specs = [{ kind: "permute" as const }, { kind: "infill" as const }];
  const a = applyNoise(d, specs, { mask: "_", rng: 11 });
  assert.deepEqual(applyNoise(d, specs, { mask: "_", rng: 11 }), a, "same seed, same corruption");
  assert.notDeepEqual(applyNoise(d, specs, { mask: "_", rng: 12 }), a);
  assert.deepEqual(applyNoise(d, [], {}), d);
  assert.equal(describeNoise(specs), "text infilling + sentence permutation");
  assert.equal(describeNoise([]), "none");
  assert.throws(() => applyNoise(d, [{ kind: "infill" }]), /need a mask token/);
  assert.throws(() => applyNoise(d, [{ kind: "shuffle" } as never], { mask: "_" }), /noise "shuffle" is unknown: use one of mask, delete, infill, permute, rotate/);
});
