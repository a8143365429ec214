// Make the small committed samples in datasets/samples/ from the full corpora, deterministically.
//
//   npx tsx scripts/make-samples.ts [--mirror DIR] [--out DIR]
//
// Each sample file keeps its corpus's exact format (header rows, tabs, $-blocks), so the loaders in
// lib/data/corpora.ts parse samples and full files with the same code. Rows are a seeded pick kept in
// original order (a contiguous prefix for Tiny Shakespeare, whose lines only make sense in sequence).
// The output also holds samples.json, a registry of the sample files (size, sha256, record count, origin).
// Same inputs -> byte-identical outputs: the seeds come from the file names, not from run order.

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { DatasetFile, Registry, ensureFile, getFile, registry, resolveMirror, samplesDir } from "../lib/data/registry";
import { Misspelling, parseSpellingList } from "../lib/data/corpora";
import { Rng } from "../lib/random";

interface Plan {
  name: string;
  file: string;
  /** "rows": k of the data rows (after `header` lines); "prefix": the first k lines; "blocks": k $-blocks; "perCategory": k rows per value of the last TSV column; "copy": the whole file. */
  how: "rows" | "prefix" | "blocks" | "perCategory" | "copy";
  k: number;
  header?: number;
  /** Files that must be picked with the same row indices (the two sides of a parallel corpus). */
  pairedWith?: string;
}

const PLANS: Plan[] = [
  { name: "sst2", file: "train.tsv", how: "rows", k: 300, header: 1 },
  { name: "sst2", file: "dev.tsv", how: "rows", k: 100, header: 1 },
  { name: "sst2", file: "test.tsv", how: "rows", k: 100, header: 1 },
  { name: "cogs", file: "train.tsv", how: "rows", k: 300 },
  { name: "cogs", file: "dev.tsv", how: "rows", k: 100 },
  { name: "cogs", file: "test.tsv", how: "rows", k: 100 },
  { name: "cogs", file: "gen.tsv", how: "perCategory", k: 5 },
  { name: "cogs", file: "LICENSE", how: "copy", k: 0 }, // MIT asks that the notice travel with substantial copies
  { name: "multi30k_en_de", file: "train.en", how: "rows", k: 300 },
  { name: "multi30k_en_de", file: "train.de", how: "rows", k: 300, pairedWith: "train.en" },
  { name: "multi30k_en_de", file: "val.en", how: "rows", k: 100 },
  { name: "multi30k_en_de", file: "val.de", how: "rows", k: 100, pairedWith: "val.en" },
  { name: "multi30k_en_de", file: "test_2016_flickr.en", how: "rows", k: 100 },
  { name: "multi30k_en_de", file: "test_2016_flickr.de", how: "rows", k: 100, pairedWith: "test_2016_flickr.en" },
  { name: "tiny_shakespeare", file: "input.txt", how: "prefix", k: 400 },
  { name: "spelling_mitton", file: "missp.dat", how: "blocks", k: 80 },
  { name: "spelling_mitton", file: "holbrook-missp.dat", how: "blocks", k: 60 },
  { name: "spelling_mitton", file: "aspell.dat", how: "blocks", k: 60 },
  { name: "spelling_mitton", file: "wikipedia.dat", how: "blocks", k: 60 },
  { name: "imdb", file: "train.tsv", how: "rows", k: 24, header: 1 },
  { name: "imdb", file: "test.tsv", how: "rows", k: 16, header: 1 },
  { name: "imdb", file: "unsup.txt.gz", how: "rows", k: 40 }, // sampled from the text, stored gzipped like the corpus
  { name: "wikitext2", file: "wiki.train.tokens", how: "prefix", k: 60 },
  { name: "wikitext2", file: "wiki.valid.tokens", how: "prefix", k: 30 },
  { name: "wikitext2", file: "wiki.test.tokens", how: "prefix", k: 30 },
];

/** A seed from a string (FNV-1a), so each file's pick does not depend on which files came before it. */
function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** k distinct indices in [0, n), ascending. */
function pick(n: number, k: number, rng: Rng): number[] {
  if (k > n) throw new Error(`cannot pick ${k} of ${n} rows: lower k in scripts/make-samples.ts.`);
  const idx = Array.from({ length: n }, (_, i) => i);
  return rng.shuffle(idx).slice(0, k).sort((a, b) => a - b);
}

function lines(text: string): string[] {
  const xs = text.split("\n");
  if (xs[xs.length - 1] === "") xs.pop();
  return xs;
}

const sha256 = (buf: Buffer | string): string => crypto.createHash("sha256").update(buf).digest("hex");

/** Apply one plan to a file's text; `picked` remembers indices so paired files reuse them. */
function sampleText(plan: Plan, text: string, picked: Map<string, number[]>): { out: string; how: string } {
  const rng = new Rng(seedOf(`${plan.name}/${plan.pairedWith ?? plan.file}`));
  const all = lines(text);
  const n = all.length;
  if (plan.how === "copy") return { out: text, how: "whole file" };
  if (plan.how === "prefix") return { out: all.slice(0, plan.k).join("\n") + "\n", how: `first ${plan.k} of ${n} lines` };
  if (plan.how === "rows") {
    const h = plan.header ?? 0;
    const key = `${plan.name}/${plan.pairedWith ?? plan.file}`;
    const idx = picked.get(key) ?? pick(n - h, plan.k, rng);
    picked.set(key, idx);
    const rows = [...all.slice(0, h), ...idx.map((i) => all[h + i])];
    const paired = plan.pairedWith ? `, the same rows as ${plan.pairedWith}` : "";
    return { out: rows.join("\n") + "\n", how: `${plan.k} of ${n - h} rows, seeded pick in original order${paired}` };
  }
  if (plan.how === "perCategory") {
    const byCat = new Map<string, number[]>();
    all.forEach((line, i) => {
      const cat = line.slice(line.lastIndexOf("\t") + 1);
      byCat.set(cat, [...(byCat.get(cat) ?? []), i]);
    });
    const keep: number[] = [];
    for (const cat of [...byCat.keys()].sort()) {
      const rows = byCat.get(cat) as number[];
      keep.push(...pick(rows.length, plan.k, rng).map((j) => rows[j]));
    }
    keep.sort((a, b) => a - b);
    return { out: keep.map((i) => all[i]).join("\n") + "\n", how: `${plan.k} rows from each of ${byCat.size} categories (${keep.length} of ${n}), seeded, original order` };
  }
  // blocks: a $correct line and the misspellings under it stay together.
  const starts = all.map((l, i) => (l.startsWith("$") ? i : -1)).filter((i) => i >= 0);
  const blocks = starts.map((s, b) => all.slice(s, b + 1 < starts.length ? starts[b + 1] : n));
  const chosen = pick(blocks.length, plan.k, rng).map((b) => blocks[b]);
  return { out: chosen.flat().join("\n") + "\n", how: `${plan.k} of ${blocks.length} $-blocks (a word and its misspellings), seeded, original order` };
}

function countExamples(plan: Plan, out: string): number | undefined {
  if (plan.how === "copy" || plan.how === "prefix") return undefined;
  if (plan.how === "blocks") return parseSpellingList(out).length as number;
  return lines(out).length - (plan.header ?? 0);
}

export interface MakeSamplesOptions {
  mirror?: string | null;
  outDir?: string;
  cacheDir?: string;
  log?: (line: string) => void;
}

/** Build every sample and samples.json under outDir; returns the sample registry it wrote. */
export async function makeSamples(options: MakeSamplesOptions = {}): Promise<Registry> {
  const outDir = path.resolve(options.outDir ?? samplesDir());
  const log = options.log ?? ((l: string) => console.log(l));
  const full = registry();
  const reg: Registry = {
    version: 1,
    about:
      "Small samples of each corpus, made by scripts/make-samples.ts from the files in datasets/registry.json " +
      "(same formats). 'source' says which file and how rows were picked. Licences: see datasets/README.md.",
    datasets: {},
  };
  const picked = new Map<string, number[]>();
  for (const plan of PLANS) {
    const src = getFile(plan.name, plan.file, full);
    const gz = plan.file.endsWith(".gz");
    const bytes = fs.readFileSync(await ensureFile(plan.name, plan.file, { mirror: options.mirror, cacheDir: options.cacheDir, log: () => {} }));
    const { out, how } = sampleText(plan, (gz ? zlib.gunzipSync(bytes) : bytes).toString("utf8"), picked);
    const stored = gz ? zlib.gzipSync(out, { level: 9 }) : Buffer.from(out);
    const dest = path.join(outDir, plan.name, plan.file);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, stored);
    const entry: DatasetFile = {
      path: plan.file,
      bytes: stored.length,
      sha256: sha256(stored),
      lines: gz ? undefined : lines(out).length,
      examples: countExamples(plan, out),
      source: `${plan.name}/${plan.file} (sha256 ${src.sha256.slice(0, 12)}…): ${how}`,
    };
    if (entry.examples === undefined) delete entry.examples;
    if (entry.lines === undefined) delete entry.lines;
    const d = full.datasets[plan.name];
    reg.datasets[plan.name] ??= { ...d, description: `Sample of: ${d.description}`, files: [] };
    reg.datasets[plan.name].files.push(entry);
    log(`${plan.name}/${plan.file}: ${entry.bytes} bytes, ${how}`);
  }
  fs.writeFileSync(path.join(outDir, "samples.json"), JSON.stringify(reg, null, 2) + "\n");
  return reg;
}

function parseArgs(argv: string[]): MakeSamplesOptions {
  const o: MakeSamplesOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--mirror" || a === "--out") {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a folder: ${a} DIR`);
      if (a === "--mirror") o.mirror = v;
      else o.outDir = v;
    } else throw new Error(`unknown argument "${a}": use --mirror DIR and/or --out DIR.`);
  }
  // With no mirror named, use NLU_DATA_MIRROR, else the course's shared copy beside the repo if present.
  if (o.mirror === undefined && !process.env.NLU_DATA_MIRROR) {
    const shared = path.resolve(samplesDir(), "..", "..", "..", "shared", "datasets");
    if (fs.existsSync(shared)) o.mirror = shared;
  }
  if (o.mirror !== undefined) resolveMirror(o.mirror); // fail early on a bad folder
  return o;
}

if (require.main === module) {
  makeSamples(parseArgs(process.argv.slice(2))).then(
    (reg) => {
      const total = Object.values(reg.datasets).reduce((s, d) => s + d.files.reduce((t, f) => t + f.bytes, 0), 0);
      console.log(`wrote ${Object.keys(reg.datasets).length} sample datasets, ${(total / 1024).toFixed(0)} KiB in all`);
    },
    (e: Error) => {
      console.error(`make-samples: ${e.message}`);
      process.exit(1);
    },
  );
}
