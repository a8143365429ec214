// The bake-off scorer (lib/homework/bakeoff.ts, ./course bakeoff): which sentences it takes, that the student's
// side never sees a label, exact-match scoring, and clear rejection of malformed prediction files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCogs } from "../lib/data/corpora";
import {
  BakeoffFileError, bakeoffItems, cogsBakeoffInputs, formatPredictions, parsePredictions, scoreBakeoff, writeBakeoffPredictions,
} from "../lib/homework/bakeoff";

const root = path.resolve(__dirname, "..");
const sample = { sample: true } as const;

test("the bake-off takes the first sentences of each category in file order, with line-number ids", () => {
  const gen = [
    { source: "a", target: "A", category: "x" }, { source: "b", target: "B", category: "y" },
    { source: "c", target: "C", category: "x" }, { source: "d", target: "D", category: "x" },
  ];
  assert.deepEqual(bakeoffItems(gen, 2).map((i) => [i.id, i.category]), [["gen-00001", "x"], ["gen-00002", "y"], ["gen-00003", "x"]]);
  assert.throws(() => bakeoffItems(gen, 0), /perCategory \(0\) must be a positive integer/);
});

test("cogsBakeoffInputs hands out ids and sentences only, never the logical forms", async () => {
  const inputs = await cogsBakeoffInputs(sample);
  const gen = await loadCogs("gen", sample);
  assert.equal(inputs.length, 105); // the sample has 5 sentences in each of the 21 categories
  assert.deepEqual(Object.keys(inputs[0]).sort(), ["id", "source"]);
  const targets = new Set(gen.map((g) => g.target));
  assert.ok(inputs.every((x) => !targets.has(x.source) && !("target" in x)));
  assert.equal(inputs[0].source, gen[0].source);
});

test("scores exact match overall and per category, ignoring only whitespace differences", async () => {
  const gen = await loadCogs("gen", sample);
  const items = bakeoffItems(gen);
  // Right on every other sentence; the right ones with extra spaces.
  const preds = items.map((it, i) => ({ id: it.id, prediction: i % 2 === 0 ? `  ${it.target.replace(/ /g, "  ")} ` : "x ( y )" }));
  const s = await scoreBakeoff(formatPredictions(preds), sample);
  assert.equal(s.total, 105);
  assert.equal(s.correct, 53);
  assert.equal(s.exactMatch, 53 / 105);
  assert.equal(s.perCategory.length, 21);
  assert.equal(s.perCategory.reduce((a, c) => a + c.correct, 0), 53);
  const perfect = await scoreBakeoff(formatPredictions([...items].reverse().map((it) => ({ id: it.id, prediction: it.target }))), sample);
  assert.equal(perfect.exactMatch, 1);
  assert.ok(perfect.perCategory.every((c) => c.exactMatch === 1 && c.total === 5));
});

test("malformed prediction files are rejected with every problem named", () => {
  const ids = ["gen-00001", "gen-00002", "gen-00003"];
  const ok = "id\tprediction\ngen-00001\ta\ngen-00002\tb\ngen-00003\tc\n";
  assert.equal(parsePredictions(ok, ids).get("gen-00002"), "b");
  assert.equal(parsePredictions("gen-00003\tc\ngen-00001\ta\ngen-00002\t\n", ids).get("gen-00002"), "", "no header, any order, empty prediction");
  const bad = (text: string): BakeoffFileError => {
    try {
      parsePredictions(text, ids, "p.tsv");
    } catch (e) {
      assert.ok(e instanceof BakeoffFileError);
      return e;
    }
    assert.fail("no error");
  };
  assert.match(bad("gen-00001\ta\ngen-00002\tb\n").message, /p\.tsv is not a valid bake-off prediction file:\n  - 2 prediction\(s\) for a bake-off of 3 sentences: missing gen-00003/);
  assert.match(bad(ok + "gen-00004\td\n").message, /1 unknown id\(s\): gen-00004/);
  const many = bad("foo\ta\ngen-00001\ta\ngen-00001\tb\nno tab here\n");
  assert.deepEqual(many.problems, [
    "line 3: id gen-00001 appears again (first on line 2)",
    'line 4: expected "id<TAB>prediction", got "no tab here"',
    "1 unknown id(s): foo; the ids are those of cogsBakeoffInputs() (gen-00001 ...)",
    "2 prediction(s) for a bake-off of 3 sentences: missing gen-00002, gen-00003",
  ]);
  assert.equal(many.problems.length, 4);
  assert.throws(() => formatPredictions([{ id: "gen-00001", prediction: "a\tb" }]), /contains a tab or a newline/);
});

test("writeBakeoffPredictions checks before writing: nothing is written for a wrong-length list", async () => {
  const inputs = await cogsBakeoffInputs(sample);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bakeoff-"));
  const file = path.join(dir, "p.tsv");
  assert.throws(() => writeBakeoffPredictions(file, inputs.slice(1).map((x) => ({ id: x.id, prediction: "" })), inputs), /104 prediction\(s\) for a bake-off of 105 sentences: missing gen-00001/);
  assert.ok(!fs.existsSync(file));
  writeBakeoffPredictions(file, inputs.map((x) => ({ id: x.id, prediction: "" })), inputs);
  assert.equal(fs.readFileSync(file, "utf8").split("\n").length, 107); // header + 105 + final newline
});

function cli(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "bakeoff.ts"), ...args], { cwd: root, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("./course bakeoff prints the score, or exits 1 naming what is wrong with the file", async () => {
  const gen = await loadCogs("gen", sample);
  const items = bakeoffItems(gen);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bakeoff-"));
  const good = path.join(dir, "good.tsv");
  fs.writeFileSync(good, formatPredictions(items.map((it, i) => ({ id: it.id, prediction: i < 21 ? it.target : "" }))));
  const r = cli(good, "--sample", "--json", path.join(dir, "s.json"));
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /exact match 0\.200 \(21 \/ 105\)/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "s.json"), "utf8")).correct, 21);

  const short = path.join(dir, "short.tsv");
  fs.writeFileSync(short, fs.readFileSync(good, "utf8").split("\n").slice(0, 50).join("\n") + "\n");
  const s = cli(short, "--sample");
  assert.equal(s.status, 1, s.out);
  assert.match(s.out, /short\.tsv is not a valid bake-off prediction file:\n  - 49 prediction\(s\) for a bake-off of 105 sentences: missing gen-/);
  const missing = cli(path.join(dir, "nope.tsv"), "--sample");
  assert.equal(missing.status, 1);
  assert.match(missing.out, /cannot read .*nope\.tsv/);
  assert.equal(cli().status, 2);
});

const mirror = process.env.NLU_DATA_MIRROR ?? (fs.existsSync(path.join(root, "..", "shared", "datasets", "cogs", "gen.tsv")) ? path.join(root, "..", "shared", "datasets") : undefined);
test("the real bake-off: 50 sentences from each of COGS's 21 generalization categories", { skip: mirror ? false : "needs the COGS corpus (NLU_DATA_MIRROR or ../shared/datasets)" }, async () => {
  const inputs = await cogsBakeoffInputs({ mirror, log: () => {} });
  assert.equal(inputs.length, 1050);
  assert.equal(new Set(inputs.map((x) => x.id)).size, 1050);
  const s = await scoreBakeoff(formatPredictions(inputs.map((x) => ({ id: x.id, prediction: "" }))), { mirror, log: () => {} });
  assert.equal(s.total, 1050);
  assert.equal(s.perCategory.length, 21);
  assert.ok(s.perCategory.every((c) => c.total === 50));
  assert.equal(s.exactMatch, 0);
});
