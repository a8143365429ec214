// Vocabulary: tokens <-> integer ids, with the special tokens every later lecture needs.
//
// Ids 0..6 are fixed so that models, masks and checkpoints agree: PAD must be 0 (padding masks are ids != 0),
// UNK catches everything unseen, CLS/SEP frame classifier inputs, MASK is BERT's and ELECTRA's generator's
// input token, BOS/EOS frame seq2seq targets.

export const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"] as const;
export type Special = (typeof SPECIALS)[number];
export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;
export const MASK_ID = 4;
export const BOS_ID = 5;
export const EOS_ID = 6;

export interface VocabBuildOptions {
  /** Keep tokens seen at least this often (default 1). */
  minCount?: number;
  /** Keep at most this many ids in total, specials included (default: no limit). */
  maxSize?: number;
}

export interface VocabJSON {
  kind: "nlu-course/vocab";
  tokens: string[];
}

export class Vocab {
  private readonly index: Map<string, number>;

  private constructor(readonly tokens: readonly string[]) {
    this.index = new Map(tokens.map((t, i) => [t, i]));
    if (this.index.size !== tokens.length) throw new Error("Vocab tokens must be unique.");
    SPECIALS.forEach((s, i) => {
      if (tokens[i] !== s) throw new Error(`Vocab id ${i} must be ${s}, found ${tokens[i]}: rebuild the vocabulary.`);
    });
  }

  /** Count tokens over a corpus; most frequent first, ties broken alphabetically so builds are repeatable. */
  static build(corpus: Iterable<string[]>, opts: VocabBuildOptions = {}): Vocab {
    const minCount = opts.minCount ?? 1;
    const maxSize = opts.maxSize ?? Infinity;
    if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`minCount (${minCount}) must be an integer >= 1.`);
    if (maxSize < SPECIALS.length) {
      throw new Error(`maxSize (${maxSize}) must be at least ${SPECIALS.length}, the number of special tokens.`);
    }
    const counts = new Map<string, number>();
    for (const tokens of corpus) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    const specials = new Set<string>(SPECIALS);
    const kept = [...counts.entries()]
      .filter(([t, c]) => c >= minCount && !specials.has(t))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxSize - SPECIALS.length)
      .map(([t]) => t);
    return new Vocab([...SPECIALS, ...kept]);
  }

  static fromJSON(json: VocabJSON): Vocab {
    if (json?.kind !== "nlu-course/vocab" || !Array.isArray(json.tokens)) {
      throw new Error("Not a saved Vocab (expected {kind: 'nlu-course/vocab', tokens: [...]}).");
    }
    return new Vocab(json.tokens);
  }

  toJSON(): VocabJSON {
    return { kind: "nlu-course/vocab", tokens: [...this.tokens] };
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    return this.index.get(token) ?? UNK_ID;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`id ${id} is outside the vocabulary (size ${this.size}).`);
    return t;
  }

  encode(tokens: string[]): number[] {
    return tokens.map((t) => this.id(t));
  }

  /** ids -> tokens; `skipSpecial` drops PAD/CLS/SEP/BOS/EOS (keeps UNK and MASK, which carry meaning). */
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string[] {
    const drop = new Set([PAD_ID, CLS_ID, SEP_ID, BOS_ID, EOS_ID]);
    return ids.filter((i) => !(opts.skipSpecial && drop.has(i))).map((i) => this.token(i));
  }

  /** Fraction of tokens that map to UNK: a quick check that a vocabulary fits the data. */
  unknownRate(corpus: Iterable<string[]>): number {
    let n = 0;
    let unk = 0;
    for (const tokens of corpus) for (const t of tokens) (n++, this.index.has(t) || unk++);
    return n === 0 ? 0 : unk / n;
  }
}
