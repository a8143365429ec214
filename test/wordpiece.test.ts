// WordPiece (lib/data/wordpiece.ts) against Hugging Face `tokenizers` 0.21.1 on the same corpus: reference numbers
// in test/fixtures/wordpiece/reference.json, made by make_reference.py beside it (the library is not needed here).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { bertNormalize, bertPreTokenize, trainWordPiece, WordPieceTokenizer } from "../lib/data/wordpiece";
import { loadImdb, loadImdbUnlabelled } from "../lib/data/corpora";
import { SPECIALS, Vocab } from "../lib/data/vocab";

interface RefRun { vocabSize: number; vocab: string[]; encodings: { text: string; tokens: string[] }[] }
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "wordpiece", "reference.json"), "utf8")) as { runs: RefRun[] };

/** The corpus make_reference.py trained on: the committed IMDB samples, cleaned as the loaders clean them. */
async function corpus(): Promise<string[]> {
  return [...(await loadImdbUnlabelled({ sample: true })), ...(await loadImdb("train", { sample: true })).map((r) => r.text)];
}

test("BERT normalizer and pre-tokenizer: control characters, accents, CJK, punctuation", () => {
  assert.equal(bertNormalize("Café\u0000 Noël\tÀ\u200b!"), "cafe noel a!");
  assert.equal(bertNormalize("東京"), " 東  京 ");
  assert.equal(bertNormalize("Café", { lowercase: false }), "Café");
  assert.deepEqual(bertPreTokenize("it's 10$, (ok)..."), ["it", "'", "s", "10", "$", ",", "(", "ok", ")", ".", ".", "."]);
});

for (const run of ref.runs) {
  test(`trained on the same corpus, vocabulary ${run.vocabSize} equals tokenizers' (as a set), and so do the tokenizations`, async () => {
    const texts = await corpus();
    const ours = trainWordPiece(texts, { vocabSize: run.vocabSize });
    assert.equal(ours.size, run.vocabSize);
    assert.deepEqual(ours.vocab.tokens.slice(0, SPECIALS.length), [...SPECIALS]);
    assert.deepEqual([...ours.vocab.tokens].sort(), [...run.vocab].sort());
    // The alphabet comes right after the specials, in code-point order, exactly as tokenizers lays it out.
    const alphabetEnd = run.vocab.findIndex((t) => t.startsWith("##"));
    assert.deepEqual(ours.vocab.tokens.slice(0, alphabetEnd), run.vocab.slice(0, alphabetEnd));
    for (const e of run.encodings) assert.deepEqual(ours.tokenize(e.text), e.tokens, e.text.slice(0, 60));
  });
}

test("tokenizing with tokenizers' own vocabulary gives its tokens: greedy longest match, [UNK] words, 100-char limit", () => {
  for (const run of ref.runs) {
    const tok = new WordPieceTokenizer({ vocab: Vocab.fromJSON({ kind: "nlu-course/vocab", tokens: run.vocab }) });
    for (const e of run.encodings) assert.deepEqual(tok.tokenize(e.text), e.tokens, e.text.slice(0, 60));
  }
});

test("encode/decode round trip, JSON, progress, errors", async () => {
  const texts = await corpus();
  const seen: number[] = [];
  const tok = trainWordPiece(texts, { vocabSize: 500, onProgress: (n) => seen.push(n) });
  assert.ok(seen.length >= 5 && seen.every((n, i) => i === 0 || n > seen[i - 1]));
  const ids = tok.encode("The acting was unbelievably bad.");
  assert.ok(ids.every((i) => Number.isInteger(i) && i >= 0 && i < tok.size));
  assert.equal(tok.decode(ids), "the acting was unbelievably bad .");
  const back = WordPieceTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(back.encode("Unbelievable!"), tok.encode("Unbelievable!"));
  assert.throws(() => trainWordPiece(texts, { vocabSize: 40 }), /vocabSize \(40\) is smaller than the specials, the alphabet and its "##" pieces \(\d+\): raise it or set limitAlphabet/);
  const small = trainWordPiece(texts, { vocabSize: 70, limitAlphabet: 26 });
  assert.equal(small.size, 70);
  assert.ok(small.tokenize("Zoë's 42").includes("[UNK]"), "characters outside the alphabet are [UNK]");
  assert.throws(() => WordPieceTokenizer.fromJSON({ kind: "x" } as never), /Not a saved WordPieceTokenizer/);
});
