// Scores of a binary detector (ELECTRA's discriminator: "was this token replaced?") read against what knowing
// nothing but the base rate would give.
//
//   binaryEntropy(r)            the loss (nats) of always answering P(replaced) = r, the share replaced: the
//                               base-rate yardstick a discriminator must go below to have learned anything
//   binaryCrossEntropy(p, y)    the mean loss of probabilities p on labels y
//   rocAuc(scores, labels)      P(a random positive scores above a random negative); 0.5 = no information,
//                               independent of the threshold and of the base rate (ties count one half)

/** -(r·ln r + (1-r)·ln(1-r)) in nats; 0 at r = 0 or 1. */
export function binaryEntropy(r: number): number {
  if (!(r >= 0 && r <= 1)) throw new Error(`binaryEntropy: rate (${r}) must be in [0, 1].`);
  return r > 0 && r < 1 ? -(r * Math.log(r) + (1 - r) * Math.log(1 - r)) : 0;
}

function checkPair(what: string, scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`${what}: ${scores.length} scores but ${labels.length} labels; give one label per score.`);
  if (scores.length === 0) throw new Error(`${what}: no scores to evaluate.`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`${what}: label ${labels[i]} (index ${i}) must be 0 or 1.`);
  }
}

/** Mean of -[y·ln p + (1-y)·ln(1-p)], p clipped to [1e-7, 1 - 1e-7]. */
export function binaryCrossEntropy(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair("binaryCrossEntropy", probs, labels);
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i]));
    s -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return s / probs.length;
}

/** Area under the ROC curve by ranks (Mann–Whitney U); NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair("rocAuc", scores, labels);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1; // ties share the mean of their ranks
    for (let k = i; k <= j; k++) if (labels[order[k]] === 1) (rankSumPos += midRank, pos++);
    i = j + 1;
  }
  const neg = scores.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Standard error of an AUC measured on nPos positives and nNeg negatives (Hanley & McNeil 1982, eq. 2):
 * how far from 0.5 an AUC must be before it says more than chance.
 */
export function aucStandardError(auc: number, nPos: number, nNeg: number): number {
  if (!(auc >= 0 && auc <= 1) || !(nPos > 0 && nNeg > 0)) throw new Error(`aucStandardError needs an AUC in [0, 1] and positive counts, got ${auc}, ${nPos}, ${nNeg}.`);
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  return Math.sqrt((auc * (1 - auc) + (nPos - 1) * (q1 - auc * auc) + (nNeg - 1) * (q2 - auc * auc)) / (nPos * nNeg));
}

/** What aucAboveChance reads from one measured AUC. */
export interface AucReading {
  auc: number;
  /** aucStandardError of the AUC on these counts. */
  standardError: number;
  /** true when auc − 0.5 exceeds `z` standard errors: the detector knows more than the base rate. */
  above: boolean;
  /** One sentence for the notebook, e.g. "AUC 0.701 ± 0.014 -> better than the base rate". */
  reading: string;
}

/**
 * Is a detector better than chance? Its AUC against 0.5, judged with the AUC's standard error on nPositive
 * positives and nNegative negatives (Hanley & McNeil 1982): "above" only beyond `z` (default 2) standard errors,
 * the same two-standard-error rule as the course's claims. Throws on an AUC outside [0, 1] (NaN: one class was
 * absent, measure on more tokens), counts that are not positive, or z <= 0.
 */
export function aucAboveChance(o: { auc: number; nPositive: number; nNegative: number; z?: number }): AucReading {
  const z = o.z ?? 2;
  if (!(z > 0)) throw new Error(`aucAboveChance z (${o.z}) must be a positive number of standard errors, e.g. 2.`);
  if (Number.isNaN(o.auc)) throw new Error("aucAboveChance auc is NaN: one class (replaced or original) was absent; measure on more tokens.");
  const standardError = aucStandardError(o.auc, o.nPositive, o.nNegative);
  const above = o.auc - 0.5 > z * standardError;
  const reading = `AUC ${o.auc.toFixed(3)} ± ${standardError.toFixed(3)} -> ${above ? "better than the base rate" : "not distinguishable from the base rate at this scale"}`;
  return { auc: o.auc, standardError, above, reading };
}
