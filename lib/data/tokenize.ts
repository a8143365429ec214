// Tokenizers: text -> tokens. Words for classification and parsing, characters for spelling correction.
//
// Deliberately simple and deterministic: the course is about what models do with tokens, and a rule you can
// read in one line is easier to reason about than a learned subword model.

export interface WordTokenizerOptions {
  /** Lower-case before splitting (default true; SST-2 is already lower-cased). */
  lowercase?: boolean;
}

// A word is a run of letters/digits, optionally with an internal apostrophe part ("n't", "'s" stay attached
// as in SST-2's own tokenisation: "does n't" → ["does", "n't"]); any other non-space character stands alone.
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*|['’][\p{L}]+|[^\s\p{L}\p{N}]/gu;

/** "The film, frankly, isn't good." → ["the", "film", ",", "frankly", ",", "isn't", "good", "."] */
export function wordTokenize(text: string, opts: WordTokenizerOptions = {}): string[] {
  if (typeof text !== "string") throw new Error(`wordTokenize expects a string, got ${typeof text}.`);
  const s = (opts.lowercase ?? true) ? text.toLowerCase() : text;
  return s.match(WORD) ?? [];
}

/** "naïve" → ["n", "a", "ï", "v", "e"] (code points, so accents and emoji are one token each). */
export function charTokenize(text: string): string[] {
  if (typeof text !== "string") throw new Error(`charTokenize expects a string, got ${typeof text}.`);
  return Array.from(text);
}

/** Undo wordTokenize well enough for display: spaces between tokens, none before punctuation. */
export function detokenize(tokens: string[]): string {
  return tokens.reduce((s, t, i) => (i === 0 ? t : /^[.,!?;:%)\]'’]/.test(t) ? s + t : s + " " + t), "");
}
