// ./course bakeoff FILE: score a bake-off prediction file (lib/homework/bakeoff.ts) on COGS's generalization set.
//
//   ./course bakeoff predictions.tsv            # exact match overall and per generalization category
//   ./course bakeoff predictions.tsv --json out.json
//   ./course bakeoff predictions.tsv --sample   # against the committed few-row sample of gen.tsv (offline demos)
//
// The gold logical forms come through the dataset registry (cache, NLU_DATA_MIRROR or the public URL), never from
// the student's files. Exit status: 0 scored, 1 the file is malformed (every problem is listed), 2 usage.
import * as fs from "fs";
import { BakeoffFileError, scoreBakeoff } from "../lib/homework/bakeoff";

function usage(code: number): never {
  (code ? console.error : console.log)("usage: ./course bakeoff FILE [--json OUT] [--sample]");
  process.exit(code);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let file: string | undefined;
  let json: string | undefined;
  let sample = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h" || a === "--help") usage(0);
    else if (a === "--json") json = args[++i] ?? usage(2);
    else if (a === "--sample") sample = true;
    else if (a.startsWith("--")) {
      console.error(`bakeoff: unknown option ${a}`);
      usage(2);
    } else if (file === undefined) file = a;
    else {
      console.error(`bakeoff: one prediction file at a time (got ${file} and ${a})`);
      usage(2);
    }
  }
  if (!file) usage(2);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    console.error(`bakeoff: cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  try {
    const s = await scoreBakeoff(text, { where: file, sample });
    const pct = (x: number) => x.toFixed(3);
    console.log(`bake-off: ${file} — COGS generalization set${sample ? " (sample)" : ""}, ${s.total} sentences`);
    console.log(`exact match ${pct(s.exactMatch)} (${s.correct} / ${s.total})`);
    const w = Math.max(...s.perCategory.map((c) => c.category.length));
    for (const c of s.perCategory) console.log(`  ${c.category.padEnd(w)}  ${pct(c.exactMatch)}  (${c.correct}/${c.total})`);
    if (json) fs.writeFileSync(json, JSON.stringify({ file, ...s }, null, 1) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof BakeoffFileError) {
      console.error(`bakeoff: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`bakeoff: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
