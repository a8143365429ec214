// Test helpers for the homework: scratch nbgrader course folders, submissions made by editing cells of an
// assignment's source notebook, and the grader (scripts/homework.py) run on them with its JSON results.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export const root = resolve(__dirname, "..", "..");
const python = join(root, ".venv", "bin", "python");

interface Cell {
  cell_type: string;
  id?: string;
  metadata: { nbgrader?: { grade_id?: string; points?: number; grade?: boolean; locked?: boolean } };
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}
export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export function requireJupyter(): void {
  assert.ok(existsSync(python) && existsSync(join(root, ".venv", "bin", "nbgrader")),
    "nbgrader is not set up in this checkout (.venv/bin/nbgrader is missing): run ./course setup first; these tests grade real notebooks.");
}

/**
 * A scratch course folder under out/ (inside the checkout, so that notebooks there still reach lib/ and
 * node_modules/): the real nbgrader_config.py and the assignments' source/ linked in, nothing generated yet.
 */
export function scratchCourse(name: string, assignments: string[]): string {
  const dir = join(root, "out", "homework-tests", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "source"), { recursive: true });
  copyFileSync(join(root, "homework", "nbgrader_config.py"), join(dir, "nbgrader_config.py"));
  for (const a of assignments) symlinkSync(relative(join(dir, "source"), join(root, "homework", "source", a)), join(dir, "source", a));
  return dir;
}

export const sourceOf = (assignment: string): Notebook =>
  JSON.parse(readFileSync(join(root, "homework", "source", assignment, `${assignment}.ipynb`), "utf8"));

export const releasedOf = (course: string, assignment: string): Notebook =>
  JSON.parse(readFileSync(join(course, "release", assignment, `${assignment}.ipynb`), "utf8"));

const text = (c: Cell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);

function indexOf(nb: Notebook, gradeId: string): number {
  const i = nb.cells.findIndex((c) => c.metadata.nbgrader?.grade_id === gradeId);
  assert.ok(i >= 0, `no cell with grade_id '${gradeId}' in the notebook`);
  return i;
}

/** A copy of nb with one cell's source replaced by `source`, or changed by `edit(old source)`. */
export function withCell(nb: Notebook, gradeId: string, change: string | ((old: string) => string)): Notebook {
  const out: Notebook = JSON.parse(JSON.stringify(nb));
  const cell = out.cells[indexOf(out, gradeId)];
  const next = typeof change === "string" ? change : change(text(cell));
  assert.notEqual(next, text(cell), `the edit of '${gradeId}' changed nothing`);
  cell.source = next;
  return out;
}

/** A copy of nb with a plain (student's own) code cell inserted after the cell `afterId`. */
export function withCellAfter(nb: Notebook, afterId: string, source: string): Notebook {
  const out: Notebook = JSON.parse(JSON.stringify(nb));
  out.cells.splice(indexOf(out, afterId) + 1, 0, { cell_type: "code", id: `own-${afterId}`, metadata: {}, source, outputs: [], execution_count: null });
  return out;
}

/** A copy of nb without the cell `gradeId`. */
export function withoutCell(nb: Notebook, gradeId: string): Notebook {
  const out: Notebook = JSON.parse(JSON.stringify(nb));
  out.cells.splice(indexOf(out, gradeId), 1);
  return out;
}

export function writeSubmissions(dir: string, subs: Record<string, Notebook>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [student, nb] of Object.entries(subs)) writeFileSync(join(dir, `${student}.ipynb`), JSON.stringify(nb, null, 1));
}

export interface GradedCell { grade_id: string; task: string; points: number; max_points: number; why: string }
export interface Graded {
  submission: string; assignment: string; student: string; ok: boolean; score: number; max_score: number;
  seconds: number; cells: GradedCell[]; notes: string[]; feedback: string; error: string;
}

export interface Run { status: number | null; output: string; results: Graded[] }

/** scripts/homework.py [--course C] ARGS (with --json when grading); its exit code, output and results. */
export function homework(course: string, args: string[], env: Record<string, string> = {}, timeoutMs = 1_800_000): Run {
  requireJupyter();
  const json = join(course, "results.json");
  rmSync(json, { force: true });
  const grading = args[0] === "grade";
  const r = spawnSync(python, [join(root, "scripts", "homework.py"), "--course", course, ...args, ...(grading ? ["--json", json] : [])], {
    cwd: root, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, NLU_MODE: "quick", ...env },
  });
  const output = `${r.stdout}${r.stderr}`;
  const results = grading && existsSync(json) ? (JSON.parse(readFileSync(json, "utf8")) as Graded[]) : [];
  return { status: r.status, output, results };
}

/** Points per task ("Task 1" -> 5) of one graded submission. */
export function taskPoints(g: Graded): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of g.cells) out[c.task] = (out[c.task] ?? 0) + c.points;
  return out;
}

/** Maximum points per task of an assignment's source notebook (from its test cells' nbgrader metadata). */
export function taskMaxima(nb: Notebook): Record<string, number> {
  const out: Record<string, number> = {};
  let task = "Setup";
  for (const c of nb.cells) {
    const m = c.cell_type === "markdown" ? /^#{1,6}\s*(Task\s+\d+)\b/m.exec(text(c)) : null;
    if (m) task = m[1];
    const g = c.metadata.nbgrader;
    if (g?.grade && c.cell_type === "code") out[task] = (out[task] ?? 0) + (g.points ?? 0);
  }
  return out;
}

export function result(run: Run, student: string): Graded {
  const g = run.results.find((x) => x.student === student);
  assert.ok(g, `no result for '${student}' in:\n${run.output}`);
  assert.ok(g.ok, `'${student}' was not graded: ${g.error}\n${run.output}`);
  return g;
}

export const cellSource = text;

/**
 * A scratch course with `assignment` released, checking the release's report (test cells, points) and that no
 * solution or hidden test is left in it: the folder, the source and released notebooks, and points per task.
 */
export function releaseScratch(assignment: string, expect: { testCells: number; points: number }): { course: string; source: Notebook; released: Notebook; maxima: Record<string, number> } {
  const course = scratchCourse(assignment, [assignment]);
  const rel = homework(course, ["release", assignment]);
  assert.equal(rel.status, 0, rel.output);
  assert.match(rel.output, new RegExp(`released ${assignment}: .* \\(${expect.testCells} test cells, ${expect.points} points\\)`));
  const released = releasedOf(course, assignment);
  assert.doesNotMatch(released.cells.map(text).join("\n"), /BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS/);
  const source = sourceOf(assignment);
  return { course, source, released, maxima: taskMaxima(source) };
}

/** Writes the submissions (student -> notebook) to course/incoming and grades them all; the grader must exit 0. */
export function gradeAll(course: string, subs: Record<string, Notebook>, args: string[] = []): Run {
  writeSubmissions(join(course, "incoming"), subs);
  const run = homework(course, ["grade", ...args, join(course, "incoming")]);
  assert.equal(run.status, 0, run.output);
  return run;
}

/** `student` lost exactly the points of `task` and kept every other task's; returns its result. */
export function expectOnlyTaskWrong(run: Run, student: string, maxima: Record<string, number>, task: string): Graded {
  const g = result(run, student);
  assert.deepEqual(taskPoints(g), { ...maxima, [task]: 0 }, run.output);
  return g;
}

/** The source notebook earned every point, and the released one (unanswered) none, each test failing on a stub. */
export function expectFullAndBlank(run: Run, maxima: Record<string, number>, students = { full: "instructor", blank: "blank" }): void {
  const total = Object.values(maxima).reduce((a, b) => a + b, 0);
  const full = result(run, students.full);
  assert.deepEqual(taskPoints(full), maxima, run.output);
  assert.equal(full.score, total);
  assert.deepEqual(full.notes, [], "the source needs no notes");
  const blank = result(run, students.blank);
  assert.deepEqual(taskPoints(blank), Object.fromEntries(Object.keys(maxima).map((t) => [t, 0])), run.output);
  assert.equal(blank.max_score, total);
  for (const c of blank.cells) assert.match(c.why, /not implemented yet/, `${c.grade_id}: ${c.why}`);
}
