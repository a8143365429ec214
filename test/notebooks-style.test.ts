// The course notebooks narrate; lib/ holds the plumbing (the project's brief). Checked on the committed
// notebooks, so a refactor that slips back is caught: no code cell over 25 lines, no function defined in a cell,
// no committed outputs (students run them; saved outputs would go stale), and no unfilled placeholder in the
// prose (an all-capitals marker such as READ_RESULTS left where a measured reading belongs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(__dirname, "..", "notebooks");
const notebooks = readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort();

interface Cell { cell_type: string; source: string[] | string; outputs?: unknown[] }
const cellsOf = (f: string): Cell[] => JSON.parse(readFileSync(join(dir, f), "utf8")).cells;
const text = (c: Cell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);

/** Problems of one notebook's cells, as readable lines (empty when it follows the rules). */
export function styleProblems(cells: Cell[]): string[] {
  const problems: string[] = [];
  cells.forEach((c, i) => {
    const src = text(c);
    if (c.cell_type === "code") {
      const n = src.replace(/\n$/, "").split("\n").length;
      if (n > 25) problems.push(`cell ${i}: ${n} lines of code (at most 25: move the plumbing into lib/)`);
      if (/^\s*(export\s+)?(async\s+)?function\b/m.test(src)) problems.push(`cell ${i}: defines a function (it belongs in lib/)`);
      if ((c.outputs ?? []).length > 0) problems.push(`cell ${i}: committed with outputs (clear them before committing)`);
    } else if (c.cell_type === "markdown") {
      const marker = src.split("\n").find((l) => /^\s*[A-Z][A-Z0-9]*(_[A-Z0-9]+)*\s*$/.test(l) && l.trim().length >= 5);
      if (marker) problems.push(`cell ${i}: placeholder "${marker.trim()}" where the prose should be`);
    }
  });
  return problems;
}

test("the style check itself: it flags long cells, functions, outputs and placeholders, and passes clean cells", () => {
  const long = { cell_type: "code", source: Array.from({ length: 26 }, (_, k) => `const x${k} = ${k};\n`) };
  assert.deepEqual(styleProblems([
    { cell_type: "code", source: "const a = 1;\nshowTable(rows);" },
    { cell_type: "markdown", source: "## 2. The bottleneck\n\nWithout attention, ONE vector carries the source." },
  ]), []);
  assert.match(styleProblems([long])[0], /cell 0: 26 lines of code/);
  assert.match(styleProblems([{ cell_type: "code", source: "async function helper() {}" }])[0], /defines a function/);
  assert.match(styleProblems([{ cell_type: "code", source: "1", outputs: [{}] }])[0], /with outputs/);
  assert.match(styleProblems([{ cell_type: "markdown", source: "READ_BOTTLENECK\n\n## 3. Scores" }])[0], /placeholder "READ_BOTTLENECK"/);
  assert.match(styleProblems([{ cell_type: "markdown", source: "CLOSING" }])[0], /placeholder "CLOSING"/);
});

for (const f of notebooks) {
  test(`${f}: narrates (cells of at most 25 lines, no functions, no outputs, no placeholders)`, () => {
    assert.deepEqual(styleProblems(cellsOf(f)), []);
  });
}

test("every course notebook of the course map is there", () => {
  for (const n of ["00_setup", "01_rnn_baselines", "02_cnn_baselines", "03_self_attention", "04_electra", "05_seq2seq", "06_t5_bart", "07_distillation", "08_representations"]) {
    assert.ok(notebooks.includes(`${n}.ipynb`), `${n}.ipynb is missing`);
  }
});
