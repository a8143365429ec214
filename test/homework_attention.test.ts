// hw_attention through the real grader (nbgrader + the tslab kernel, scripts/homework.py): the source earns full
// marks, the released version earns 0 per task, one wrong task loses exactly its points, and a submission that
// throws, loops forever, edits a test cell and deletes another is graded with clear notes instead of a crash.
// Needs ./course setup (.venv with nbgrader). Takes a few minutes: each submission is one kernel run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cellSource, homework, releasedOf, result, scratchCourse, sourceOf, taskMaxima, taskPoints, withCell, withCellAfter,
  withoutCell, writeSubmissions,
} from "./helpers/homework";

const A = "hw_attention";

test("hw_attention: the release hides solutions and hidden tests and leaves stubs that throw", () => {
  const course = scratchCourse(`${A}-release`, [A]);
  const r = homework(course, ["release", A]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /released hw_attention: .* \(10 test cells, 20 points\)/);
  const released = releasedOf(course, A);
  const all = released.cells.map(cellSource).join("\n");
  assert.doesNotMatch(all, /BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS/);
  assert.doesNotMatch(all, /ref\.splitHeads\(x, h\)/, "a hidden test leaked into the release");
  assert.doesNotMatch(all, /tf\.linalg\.bandPart/, "a solution leaked into the release");
  const code = released.cells.filter((c) => c.cell_type === "code").map(cellSource).join("\n");
  const stubs = code.match(/throw new Error\("not implemented yet/g) ?? [];
  assert.equal(stubs.length, 8, "one stub per function the student writes");
  // The student still sees every task's visible check.
  const checks = released.cells.filter((c) => /_check$/.test(c.metadata.nbgrader?.grade_id ?? ""));
  assert.equal(checks.length, 5);
  assert.ok(checks.every((c) => /passed\(/.test(cellSource(c))));

  // Inputs the grader cannot take are reported, not crashed on (no kernel runs for these).
  const bad = join(course, "bad");
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, "broken.ipynb"), "{ this is not json");
  writeFileSync(join(bad, "other.ipynb"), JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  const g = homework(course, ["grade", bad]);
  assert.equal(g.status, 1, g.output);
  assert.match(g.output, /broken\.ipynb: NOT GRADED\n\s+not a readable notebook/);
  assert.match(g.output, /other\.ipynb: NOT GRADED\n\s+.*cannot tell which assignment this is .*pass --assignment NAME/);
  assert.match(g.output, /homework: graded 0 of 2 submission\(s\)/);
  const unknown = homework(course, ["release", "hw_nothing"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.output, /no assignment 'hw_nothing': known ones are hw_attention/);
});

test("hw_attention: grading full / blank / one wrong task / throw + endless loop + edited and deleted test cells", () => {
  const course = scratchCourse(A, [A]);
  const rel = homework(course, ["release", A]);
  assert.equal(rel.status, 0, rel.output);
  const source = sourceOf(A);
  const released = releasedOf(course, A);
  const maxima = taskMaxima(source);
  assert.deepEqual(maxima, { "Task 1": 5, "Task 2": 3, "Task 3": 5, "Task 4": 5, "Task 5": 2 });

  // Task 2 wrong in one way only: the causal mask transposed (the model would see the future, not the past).
  const wrongTask2 = withCell(source, "task2", (s) => s.replace("bandPart(tf.ones([t, t]), -1, 0)", "bandPart(tf.ones([t, t]), 0, -1)"));
  // Several defects at once, each confined to one task:
  let defects = withCell(source, "task1", (s) =>
    s.replace(/\/\/ BEGIN SOLUTION[\s\S]*?\/\/ END SOLUTION/, 'throw new RangeError("index 7 out of range in my attention");'));
  defects = withCellAfter(defects, "task1_hidden", 'throw new Error("a scratch cell of mine that throws at top level");');
  // An endless loop on some inputs only (the hidden test's batch of 32): one test cell times out, not both.
  defects = withCell(defects, "task5", (s) => s.replace("return opts.batch *", "if (opts.batch === 32) while (true) {}\n  return opts.batch *"));
  defects = withCell(defects, "task2_check", 'passed("Task 2 check: causal and padding masks");');
  defects = withoutCell(defects, "task3_hidden");
  writeSubmissions(join(course, "incoming"), { instructor: source, blank: released, wrong_task2: wrongTask2, defects });

  const run = homework(course, ["grade", "--timeout", "30", join(course, "incoming")]);
  assert.equal(run.status, 0, run.output);
  assert.match(run.output, /homework: graded 4 of 4 submission\(s\)/);

  const full = result(run, "instructor");
  assert.deepEqual(taskPoints(full), maxima, run.output);
  assert.equal(full.score, 20);
  assert.deepEqual(full.notes, [], "the source needs no notes");
  assert.ok(existsSync(full.feedback), "feedback HTML is written");

  const blank = result(run, "blank");
  assert.deepEqual(taskPoints(blank), { "Task 1": 0, "Task 2": 0, "Task 3": 0, "Task 4": 0, "Task 5": 0 }, run.output);
  assert.equal(blank.max_score, 20);
  for (const c of blank.cells) assert.match(c.why, /not implemented yet/, `${c.grade_id}: ${c.why}`);

  const wrong = result(run, "wrong_task2");
  assert.deepEqual(taskPoints(wrong), { ...maxima, "Task 2": 0 }, run.output);
  assert.equal(wrong.score, 20 - maxima["Task 2"]);
  assert.match(wrong.cells.find((c) => c.grade_id === "task2_check")!.why, /causalMask\(3\)/);

  const d = result(run, "defects");
  assert.deepEqual(taskPoints(d), { ...maxima, "Task 1": 0, "Task 5": 1 }, run.output);
  const why = (id: string) => d.cells.find((c) => c.grade_id === id)!.why;
  assert.match(why("task1_check"), /RangeError: index 7 out of range in my attention/);
  assert.match(why("task5_hidden"), /timed out/);
  assert.ok(d.notes.some((n) => /test cell 'task2_check' was edited; it was graded as released/.test(n)), d.notes.join("\n"));
  assert.ok(d.notes.some((n) => /test cell 'task3_hidden' was deleted; it was put back/.test(n)), d.notes.join("\n"));
  const feedback = readFileSync(d.feedback, "utf8");
  assert.match(feedback, /index 7 out of range in my attention/, "the feedback shows the error the student's code raised");
  assert.match(feedback, /CellTimeoutError/, "the feedback shows the time-out");
  assert.match(feedback, /Score: 14\.0 \/ 20\.0/);
  assert.doesNotMatch(feedback, /BEGIN HIDDEN TESTS|ref\.splitHeads\(x, h\)/, "the feedback does not show the hidden tests' code");
  // The printed report names the task, the points and the reason.
  assert.match(run.output, /Task 1\s+0 \/ 5\n\s+task1_check \(0\/2\): RangeError: index 7 out of range/);

  const seconds = run.results.map((g) => `${g.student} ${g.seconds.toFixed(1)} s`).join(", ");
  console.log(`# grading time per submission (autograde): ${seconds}`);
});
