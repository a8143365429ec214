// hw_seq2seq through the real grader (nbgrader + the tslab kernel, scripts/homework.py): the release hides solutions
// and hidden tests and keeps the bake-off cells' skip-execution tag; the source earns full marks; the released
// version 0 per task; a submission with exactly one wrong task (beam search ranking by log-probability, ignoring α)
// loses exactly that task's points — even though it also tagged that task's hidden test `skip-execution`, which
// would make nbgrader skip the cell and score it as passed if the grader did not restore test cells' tags. Needs
// ./course setup. Three graded submissions; the first trains a small reverse model (~5 s) unless checkpoints/ has it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cellSource, expectFullAndBlank, expectOnlyTaskWrong, gradeAll, releaseScratch, withCell } from "./helpers/homework";

const A = "hw_seq2seq";

test("hw_seq2seq: release, then grading full / blank / one wrong task (whose hidden test was tagged skip-execution)", () => {
  const { course, source, released, maxima } = releaseScratch(A, { testCells: 8, points: 20 });
  const all = released.cells.map(cellSource).join("\n");
  assert.doesNotMatch(all, /candidates\.sort\(|releaseReplaced\(state\.carry, out\.carry\);/, "a solution leaked into the release");
  assert.doesNotMatch(all, /const reference = \(beams|toy3/, "a hidden test leaked into the release");
  const code = released.cells.filter((c) => c.cell_type === "code").map(cellSource).join("\n");
  const stubs = code.match(/throw new Error\("not implemented yet/g) ?? [];
  assert.equal(stubs.length, 7, "one stub per function the student writes");
  // The original system and the bake-off entry stay editable, and are skipped by the grader.
  const skipped = released.cells.filter((c) => ((c.metadata as { tags?: string[] }).tags ?? []).includes("skip-execution"));
  assert.deepEqual(skipped.map((c) => c.id), ["original", "bakeoff"]);
  assert.ok(skipped.every((c) => c.metadata.nbgrader === undefined && /predictBakeoff/.test(cellSource(c))));

  assert.deepEqual(maxima, { "Task 1": 3, "Task 2": 5, "Task 3": 7, "Task 4": 5 });
  // Task 3 wrong in one way only: hypotheses ranked by log-probability, the length penalty ignored.
  const wrongTask3 = withCell(source, "task3", (s) => s.replace("h.score = hypothesisScore(h, alpha);", "h.score = h.logProb;"));
  const hidden = wrongTask3.cells.find((c) => c.metadata.nbgrader?.grade_id === "task3_hidden")!;
  (hidden.metadata as { tags?: string[] }).tags = ["skip-execution"];
  const run = gradeAll(course, { instructor: source, blank: released, wrong_task3: wrongTask3 });

  expectFullAndBlank(run, maxima);
  const wrong = expectOnlyTaskWrong(run, "wrong_task3", maxima, "Task 3");
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_check")!.why, /score/);
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_hidden")!.why, /score/, "the tagged hidden test ran");
  assert.ok(wrong.notes.some((n) => /test cell 'task3_hidden' had its tags changed \(skip-execution\)/.test(n)), wrong.notes.join("\n"));
  console.log(`# grading time per submission (autograde): ${run.results.map((g) => `${g.student} ${g.seconds.toFixed(1)} s`).join(", ")}`);
});
