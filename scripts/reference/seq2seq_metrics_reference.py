#!/usr/bin/env python3
"""Reference numbers for test/seq2seq_metrics.test.ts, computed by the standard tools.

Not run by the tests: it was run once, and its output (test/fixtures/seq2seq_metrics_reference.json) is
committed. Re-run it in a throwaway virtual environment:

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install sacrebleu==2.6.0 jiwer
    /tmp/refvenv/bin/python scripts/reference/seq2seq_metrics_reference.py > test/fixtures/seq2seq_metrics_reference.json

BLEU: sacrebleu.corpus_bleu with its defaults (13a, exp smoothing, mixed case); also lowercase=True and
tokenize="none" on one corpus. CER: jiwer.cer. Hypotheses are seeded perturbations of real German captions
from the committed Multi30k sample (drop, swap, replace words; punctuation and number edge cases added).
"""
import json
import random
import sys
from importlib.metadata import version
from pathlib import Path

import jiwer
import sacrebleu

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "datasets" / "samples" / "multi30k_en_de"


def perturb(sentence, rng):
    words = sentence.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < 0.1:
            continue  # drop
        if r < 0.2:
            out.append(rng.choice(words))  # replace by another word of the sentence
            continue
        out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def bleu_case(name, hyps, refs_per_segment, **kwargs):
    streams = [list(x) for x in zip(*refs_per_segment)]
    metric = sacrebleu.BLEU(**kwargs)
    b = metric.corpus_score(hyps, streams)
    return {
        "name": name,
        "hypotheses": hyps,
        "references": refs_per_segment,
        "options": kwargs,
        "score": b.score,
        "precisions": b.precisions,
        "matches": b.counts,
        "totals": b.totals,
        "brevityPenalty": b.bp,
        "hypLength": b.sys_len,
        "refLength": b.ref_len,
        "signature": str(metric.get_signature()),
    }


def main():
    rng = random.Random(12)
    refs = (SAMPLE / "test_2016_flickr.de").read_text(encoding="utf8").splitlines()[:50]
    hyps = [perturb(r, rng) for r in refs]
    other = (SAMPLE / "val.de").read_text(encoding="utf8").splitlines()[:50]
    cases = [
        bleu_case("multi30k-perturbed", hyps, [[r] for r in refs]),
        bleu_case("multi30k-perturbed-lowercase", [h.upper() if i % 3 == 0 else h for i, h in enumerate(hyps)], [[r] for r in refs], lowercase=True),
        bleu_case("multi30k-perturbed-tokenize-none", hyps, [[r] for r in refs], tokenize="none"),
        bleu_case("multi30k-two-references", hyps, [[r, o] for r, o in zip(refs, other)]),
        bleu_case("multi30k-unrelated", other, [[r] for r in refs]),
        bleu_case("identical", refs[:10], [[r] for r in refs[:10]]),
        bleu_case(
            "punctuation-and-numbers",
            ["It costs 3.50 dollars, or 1,000 cents.", "The score was 5-3 (a draw?) & \"fine\".", "Hello,world!It's 2.5-3 km/h.", "A &quot;quoted&quot; &amp; escaped &lt;tag&gt;.", "Ein Mann — mit Hut — steht dort…"],
            [["It costs 3.50 dollars , or 1,000 cents."], ["The score was 5 - 3 (a draw?) and \"fine\"."], ["Hello, world! It's 2.5-3 km/h."], ["A \"quoted\" & escaped <tag>."], ["Ein Mann – mit Hut – steht da …"]],
        ),
        bleu_case("short-hypotheses-smoothing", ["a cat", "the dog sat", "on"], [["a cat sat on the mat"], ["the dog sat down"], ["on it"]]),
        bleu_case("no-4gram-match", ["the cat the dog the bird the fish"], [["the cat and the dog and the bird"]]),
        bleu_case("empty-hypothesis", ["", "a dog runs"], [["a dog runs fast"], ["a dog runs"]]),
        bleu_case("nothing-matches", ["x y z w"], [["a b c d"]]),
        bleu_case("longer-than-reference", ["a dog runs very fast in the green park today"], [["a dog runs fast in the park"]]),
        bleu_case("closest-reference-tie", ["one two three four five"], [["one two three four", "one two three four five six"]]),
    ]
    cer_gold = ["receive", "separate", "definitely", "a lot", "naïve café", "accommodation", "their"]
    cer_pred = ["recieve", "seperate", "definately", "alot", "naive cafe", "acommodation", "there"]
    cer = {
        "gold": cer_gold,
        "pred": cer_pred,
        "cer": jiwer.cer(cer_gold, cer_pred),
        "perPair": [jiwer.cer(g, p) for g, p in zip(cer_gold, cer_pred)],
        "wer": jiwer.wer([r for r in refs[:20]], [h if h else "x" for h in hyps[:20]]),
        "werGold": refs[:20],
        "werPred": [h if h else "x" for h in hyps[:20]],
    }
    json.dump({"sacrebleu": sacrebleu.__version__, "jiwer": version("jiwer"), "bleu": cases, "cer": cer}, sys.stdout, ensure_ascii=False, indent=None, separators=(",", ":"))
    print()


if __name__ == "__main__":
    main()
