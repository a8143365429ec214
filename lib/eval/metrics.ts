// Classification metrics, computed from plain label arrays (no tensors), so they are easy to test and to trust.
//
// Macro-F1 is the course's headline number for SST-2 (as in cs224u): it weighs both classes equally, so a
// model cannot look good by favouring the majority class.

function checkPair(gold: number[], pred: number[]): void {
  if (gold.length !== pred.length) throw new Error(`gold (${gold.length}) and predicted (${pred.length}) labels differ in length.`);
  if (gold.length === 0) throw new Error("no labels to score: pass at least one example.");
}

export function accuracy(gold: number[], pred: number[]): number {
  checkPair(gold, pred);
  return gold.reduce((n, g, i) => n + (g === pred[i] ? 1 : 0), 0) / gold.length;
}

/** confusion[g][p] = how many examples of gold class g were predicted as p. */
export function confusionMatrix(gold: number[], pred: number[], numClasses?: number): number[][] {
  checkPair(gold, pred);
  const k = numClasses ?? Math.max(...gold, ...pred) + 1;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`numClasses (${numClasses}) must be a positive integer.`);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const isClass = (c: number) => Number.isInteger(c) && c >= 0 && c < k;
  gold.forEach((g, i) => {
    const p = pred[i];
    if (!isClass(g) || !isClass(p)) {
      const [what, v] = isClass(g) ? ["predicted", p] : ["gold", g];
      throw new Error(
        `${what} label ${v} (example ${i}) is not a class id in 0..${k - 1}` +
          (numClasses === undefined ? ": labels must be integers >= 0." : `: labels must be integers below numClasses (${numClasses}; with label names, one name per class).`),
      );
    }
    m[g][p]++;
  });
  return m;
}

export interface ClassScores {
  label: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Precision, recall and F1 per class; an undefined ratio (0/0) counts as 0, as in scikit-learn. */
export function perClass(gold: number[], pred: number[], numClasses?: number): ClassScores[] {
  const m = confusionMatrix(gold, pred, numClasses);
  return m.map((row, c) => {
    const tp = row[c];
    const predicted = m.reduce((s, r) => s + r[c], 0);
    const support = row.reduce((s, x) => s + x, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label: c, precision, recall, f1, support };
  });
}

export function macroF1(gold: number[], pred: number[], numClasses?: number): number {
  const scores = perClass(gold, pred, numClasses);
  return scores.reduce((s, c) => s + c.f1, 0) / scores.length;
}

/**
 * One row of a classification report: numeric columns hold numbers, NaN where a value does not apply. (A type,
 * not an interface: showTable takes rows as Record<string, unknown>, which an interface is not assignable to.)
 */
export type ReportRow = {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
};

/**
 * Rows for a classification report table: one per class, macro and weighted averages, then accuracy (in the f1
 * column, as scikit-learn prints it; its precision and recall are NaN, not "", so that the numeric columns stay
 * numeric when the rows become a DataFrame: filters and means then see only numbers).
 */
export function classificationReport(gold: number[], pred: number[], labelNames?: string[]): ReportRow[] {
  const scores = perClass(gold, pred, labelNames?.length);
  const n = gold.length;
  const row = (name: string, p: number, r: number, f: number, s: number): ReportRow => ({ class: name, precision: p, recall: r, f1: f, support: s });
  const mean = (key: "precision" | "recall" | "f1", weighted: boolean) =>
    scores.reduce((s, c) => s + c[key] * (weighted ? c.support / n : 1 / scores.length), 0);
  return [
    ...scores.map((c) => row(labelNames?.[c.label] ?? String(c.label), c.precision, c.recall, c.f1, c.support)),
    row("macro avg", mean("precision", false), mean("recall", false), mean("f1", false), n),
    row("weighted avg", mean("precision", true), mean("recall", true), mean("f1", true), n),
    row("accuracy", NaN, NaN, accuracy(gold, pred), n),
  ];
}
