// How a student's predictions relate to its teacher's (lecture 6): how often they agree, and what the student
// does on the teacher's mistakes. A student that copies its teacher exactly repeats every mistake; the lecture's
// intuition is that the teacher's soft outputs (mistakes included) regularise, so a student can do better.

function checkSameLength(named: Record<string, number[]>): number {
  const lengths = Object.entries(named).map(([k, v]) => `${k} ${v.length}`);
  const n = Object.values(named)[0].length;
  if (Object.values(named).some((v) => v.length !== n)) throw new Error(`predictions differ in length (${lengths.join(", ")}): pass one label per example for each.`);
  if (n === 0) throw new Error("no predictions to compare: pass at least one example.");
  return n;
}

/** Fraction of examples on which two label sequences are equal. */
export function agreement(a: number[], b: number[]): number {
  const n = checkSameLength({ a, b });
  return a.reduce((s, x, i) => s + (x === b[i] ? 1 : 0), 0) / n;
}

export interface MistakeAgreement {
  /** Examples the teacher gets wrong. */
  teacherMistakes: number;
  /** Of those, the fraction where the student predicts the teacher's (wrong) label. */
  sameMistake: number;
  /** Examples the student gets right and the teacher wrong, and the reverse. */
  studentOnlyRight: number;
  teacherOnlyRight: number;
  /** Agreement with the teacher on all examples. */
  agreement: number;
}

/** The student against its teacher on the teacher's mistakes. gold, teacher, student: one label per example. */
export function mistakeAgreement(o: { gold: number[]; teacher: number[]; student: number[] }): MistakeAgreement {
  checkSameLength(o);
  const wrong = o.gold.map((g, i) => i).filter((i) => o.teacher[i] !== o.gold[i]);
  const same = wrong.filter((i) => o.student[i] === o.teacher[i]).length;
  const count = (f: (i: number) => boolean) => o.gold.reduce((s, _, i) => s + (f(i) ? 1 : 0), 0);
  return {
    teacherMistakes: wrong.length,
    sameMistake: wrong.length ? same / wrong.length : 0,
    studentOnlyRight: count((i) => o.student[i] === o.gold[i] && o.teacher[i] !== o.gold[i]),
    teacherOnlyRight: count((i) => o.teacher[i] === o.gold[i] && o.student[i] !== o.gold[i]),
    agreement: agreement(o.teacher, o.student),
  };
}
