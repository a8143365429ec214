// Toy sentence-classification data for the distillation tests: small enough for a one-layer CNN to learn in a
// few epochs, real enough that a passing score means learning.
import { LabelledIds } from "../../lib/models/classifier";
import { Rng } from "../../lib/random";

/** Token ids 9..vocab-1 are filler; 7 and 8 are the signal. */
export const TOY_VOCAB = 24;

/** Label 1 iff the sentence (3..8 tokens) holds token 7 or token 8. */
export function toySentences(count: number, seed: number): LabelledIds[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const n = 3 + Math.floor(rng.next() * 6);
    const ids = Array.from({ length: n }, () => 9 + Math.floor(rng.next() * (TOY_VOCAB - 9)));
    const label = rng.next() < 0.5 ? 1 : 0;
    if (label) ids[Math.floor(rng.next() * n)] = rng.next() < 0.5 ? 7 : 8;
    return { ids, label };
  });
}
