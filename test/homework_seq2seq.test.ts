// hw_seq2seq through the real grader (nbgrader + the tslab kernel, scripts/homework.py): the release hides solutions
// and hidden tests and keeps the bake-off cells' skip-execution tag; the source earns full marks; the released
// version 0 per task; a submission with exactly one wrong task (beam search ranking by log-probability, ignoring α)
// loses exactly that task's points — even though it also tagged that task's hidden test `skip-execution`, which
// would make nbgrader skip the cell and score it as passed if the grader did not restore test cells' tags. Needs
// ./course setup. Three graded submissions; the first trains a small reverse model (~5 s) unless checkpoints/ has it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cellSource, homework, releasedOf, result, scratchCourse, sourceOf, taskMaxima, taskPoints, withCell, writeSubmissions,
} from "./helpers/homework";

const A = "hw_seq2seq";

test("hw_seq2seq: release, then grading full / blank / one wrong task (whose hidden test was tagged skip-execution)", () => {
  const course = scratchCourse(A, [A]);
  const rel = homework(course, ["release", A]);
  assert.equal(rel.status, 0, rel.output);
  assert.match(rel.output, /released hw_seq2seq: .* \(8 test cells, 20 points\)/);
  const source = sourceOf(A);
  const released = releasedOf(course, A);
  const all = released.cells.map(cellSource).join("\n");
  assert.doesNotMatch(all, /BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS/);
  assert.doesNotMatch(all, /candidates\.sort\(|releaseReplaced\(state\.carry, out\.carry\);/, "a solution leaked into the release");
  assert.doesNotMatch(all, /const reference = \(beams|toy3/, "a hidden test leaked into the release");
  const stubs = all.match(/throw new Error\("not implemented yet/g) ?? [];
  assert.equal(stubs.length, 7, "one stub per function the student writes");
  // The original system and the bake-off entry stay editable, and are skipped by the grader.
  const skipped = released.cells.filter((c) => ((c.metadata as { tags?: string[] }).tags ?? []).includes("skip-execution"));
  assert.deepEqual(skipped.map((c) => c.id), ["original", "bakeoff"]);
  assert.ok(skipped.every((c) => c.metadata.nbgrader === undefined && /predictBakeoff/.test(cellSource(c))));

  const maxima = taskMaxima(source);
  assert.deepEqual(maxima, { "Task 1": 3, "Task 2": 5, "Task 3": 7, "Task 4": 5 });
  // Task 3 wrong in one way only: hypotheses ranked by log-probability, the length penalty ignored.
  const wrongTask3 = withCell(source, "task3", (s) => s.replace("h.score = hypothesisScore(h, alpha);", "h.score = h.logProb;"));
  const hidden = wrongTask3.cells.find((c) => c.metadata.nbgrader?.grade_id === "task3_hidden")!;
  (hidden.metadata as { tags?: string[] }).tags = ["skip-execution"];
  writeSubmissions(join(course, "incoming"), { instructor: source, blank: released, wrong_task3: wrongTask3 });
  const run = homework(course, ["grade", join(course, "incoming")]);
  assert.equal(run.status, 0, run.output);

  const full = result(run, "instructor");
  assert.deepEqual(taskPoints(full), maxima, run.output);
  assert.equal(full.score, 20);
  assert.deepEqual(full.notes, []);
  const blank = result(run, "blank");
  assert.deepEqual(taskPoints(blank), Object.fromEntries(Object.keys(maxima).map((t) => [t, 0])), run.output);
  for (const c of blank.cells) assert.match(c.why, /not implemented yet/, `${c.grade_id}: ${c.why}`);
  const wrong = result(run, "wrong_task3");
  assert.deepEqual(taskPoints(wrong), { ...maxima, "Task 3": 0 }, run.output);
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_check")!.why, /score/);
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_hidden")!.why, /score/, "the tagged hidden test ran");
  assert.ok(wrong.notes.some((n) => /test cell 'task3_hidden' had its tags changed \(skip-execution\)/.test(n)), wrong.notes.join("\n"));
  console.log(`# grading time per submission (autograde): ${run.results.map((g) => `${g.student} ${g.seconds.toFixed(1)} s`).join(", ")}`);
});
