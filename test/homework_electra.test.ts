// hw_electra through the real grader (nbgrader + the tslab kernel, scripts/homework.py): the source earns full
// marks, the released version 0 per task, and a submission with exactly one wrong task (the discriminator loss
// averaged over padding too) loses exactly that task's points. Needs ./course setup and the Multi30k corpus
// (NLU_DATA_MIRROR or the cache). Takes a few minutes: each submission is one kernel run with a short pre-training.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cellSource, expectFullAndBlank, expectOnlyTaskWrong, gradeAll, releaseScratch, withCell } from "./helpers/homework";

const A = "hw_electra";

test("hw_electra: grading full / blank / one wrong task", () => {
  const { course, source, released, maxima } = releaseScratch(A, { testCells: 12, points: 20 });
  assert.doesNotMatch(released.cells.map(cellSource).join("\n"), /return "b";/, "a solution leaked into the release");
  assert.deepEqual(maxima, { "Task 1": 5, "Task 2": 3, "Task 3": 4, "Task 4": 3, "Task 5": 3, "Task 6": 2 });

  // Task 3 wrong in one way only: the loss averaged over every position, padding included.
  const wrongTask3 = withCell(source, "task3", (s) =>
    s.replace("tf.div(tf.sum(tf.mul(perToken, m)), tf.maximum(tf.sum(m), 1))", "tf.mean(perToken)"));
  const run = gradeAll(course, { instructor: source, blank: released, wrong_task3: wrongTask3 });

  expectFullAndBlank(run, maxima);
  const wrong = expectOnlyTaskWrong(run, "wrong_task3", maxima, "Task 3");
  assert.match(wrong.cells.find((c) => c.grade_id === "task3_check")!.why, /padding token/);
  console.log(`# grading time per submission (autograde): ${run.results.map((g) => `${g.student} ${g.seconds.toFixed(1)} s`).join(", ")}`);
});
