// hw_electra through the real grader (nbgrader + the tslab kernel, scripts/homework.py): the source earns full
// marks, the released version 0 per task, and a submission with exactly one wrong task (the discriminator loss
// averaged over padding too) loses exactly that task's points. Needs ./course setup and the Multi30k corpus
// (NLU_DATA_MIRROR or the cache). Takes a few minutes: each submission is one kernel run with a short pre-training.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { homework, releasedOf, result, scratchCourse, sourceOf, taskMaxima, taskPoints, withCell, writeSubmissions } from "./helpers/homework";

const A = "hw_electra";

test("hw_electra: grading full / blank / one wrong task", () => {
  const course = scratchCourse(A, [A]);
  const rel = homework(course, ["release", A]);
  assert.equal(rel.status, 0, rel.output);
  assert.match(rel.output, /released hw_electra: .* \(12 test cells, 20 points\)/);
  const source = sourceOf(A);
  const released = releasedOf(course, A);
  assert.doesNotMatch(released.cells.map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).join("\n"), /BEGIN SOLUTION|BEGIN HIDDEN TESTS|return "b";/);
  const maxima = taskMaxima(source);
  assert.deepEqual(maxima, { "Task 1": 5, "Task 2": 3, "Task 3": 4, "Task 4": 3, "Task 5": 3, "Task 6": 2 });

  // Task 3 wrong in one way only: the loss averaged over every position, padding included.
  const wrongTask3 = withCell(source, "task3", (s) =>
    s.replace("tf.div(tf.sum(tf.mul(perToken, m)), tf.maximum(tf.sum(m), 1))", "tf.mean(perToken)"));
  writeSubmissions(join(course, "incoming"), { instructor: source, blank: released, wrong_task3: wrongTask3 });
  const run = homework(course, ["grade", join(course, "incoming")]);
  assert.equal(run.status, 0, run.output);

  const full = result(run, "instructor");
  assert.deepEqual(taskPoints(full), maxima, run.output);
  assert.equal(full.score, 20);
  const blank = result(run, "blank");
  assert.deepEqual(taskPoints(blank), Object.fromEntries(Object.keys(maxima).map((t) => [t, 0])), run.output);
  for (const c of blank.cells) assert.match(c.why, /not implemented yet/, `${c.grade_id}: ${c.why}`);
  const wrong = result(run, "wrong_task3");
  assert.deepEqual(taskPoints(wrong), { ...maxima, "Task 3": 0 }, run.output);
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_check")!.why, /padding token/);
  console.log(`# grading time per submission (autograde): ${run.results.map((g) => `${g.student} ${g.seconds.toFixed(1)} s`).join(", ")}`);
});
