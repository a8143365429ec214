// Typed loaders for the course's corpora. Each one makes sure its file is cached and verified (fetching it
// from NLU_DATA_MIRROR or the public URL when needed, see ./registry), then parses it into plain records.
//
//   const train = await loadSst2("train");                 // [{ text, label: 0 | 1 }, ...] 67,349 rows
//   const tiny = await loadCogs("train", { sample: true }); // the committed few-hundred-row sample
//
// `{ sample: true }` reads datasets/samples/ instead: same formats, same parsers, no download. Each loader
// also checks the record count against the registry's `examples`, so a parser that drifts from the file fails
// loudly instead of quietly dropping rows.

import * as fs from "fs";
import * as zlib from "zlib";
import { DatasetFile, EnsureOptions, ensureFileReport, getFile, registry, sampleFile, sampleRegistry } from "./registry";

export interface LoadOptions extends EnsureOptions {
  /** Read the committed sample (datasets/samples/) instead of the full corpus. */
  sample?: boolean;
}

export type Sst2Split = "train" | "dev" | "test";
/** Binary sentiment: 0 negative, 1 positive. Text is lower-cased and PTB-tokenized, as GLUE ships it. */
export interface Sst2Example { text: string; label: 0 | 1 }
/** GLUE's SST-2 test set has no labels; `index` is GLUE's row id. */
export interface Sst2TestExample { text: string; label: null; index: number }

export type CogsSplit = "train" | "dev" | "test" | "gen";
/** source: an English sentence; target: its logical form (space-tokenized); category: in_distribution, primitive, exposure_example_*, or a gen case. */
export interface CogsExample { source: string; target: string; category: string }

export type Multi30kSplit = "train" | "val" | "test";
export interface Multi30kPair { en: string; de: string }

export type ImdbSplit = "train" | "test";
/** A labelled IMDB review: label 0 (rating <= 4) or 1 (rating >= 7); `id` is upstream's, unique per label only. */
export interface ImdbReview { text: string; label: 0 | 1; rating: number; id: number }
export interface ImdbLoadOptions extends LoadOptions {
  /** Keep upstream's text as is (`<br />` tags, Windows-1252 mojibake); default false: cleanReviewText applied. */
  raw?: boolean;
}

export type WikiTextSplit = "train" | "valid" | "test";
/** One non-blank line of WikiText: a paragraph (heading 0) or a heading (1 = article title, 2 = section, ...). */
export interface WikiTextLine { text: string; heading: number }
export interface WikiTextLoadOptions extends LoadOptions {
  /** Undo WikiText's escapes of number and hyphen joins: `1 @,@ 000` -> `1,000`, `role @-@ playing` -> `role-playing` (default true). */
  unescape?: boolean;
}

export type SpellingList = "birkbeck" | "holbrook" | "aspell" | "wikipedia";
export interface Misspelling { correct: string; misspelling: string }

const SST2_FILES: Record<Sst2Split, string> = { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" };
const COGS_FILES: Record<CogsSplit, string> = { train: "train.tsv", dev: "dev.tsv", test: "test.tsv", gen: "gen.tsv" };
// "test" is test_2016_flickr, the set torchtext and most tutorials call the Multi30k test set.
const MULTI30K_PREFIX: Record<Multi30kSplit, string> = { train: "train", val: "val", test: "test_2016_flickr" };
const IMDB_FILES: Record<ImdbSplit, string> = { train: "train.tsv", test: "test.tsv" };
const WIKITEXT_FILES: Record<WikiTextSplit, string> = { train: "wiki.train.tokens", valid: "wiki.valid.tokens", test: "wiki.test.tokens" };
const SPELLING_FILES: Record<SpellingList, string> = {
  birkbeck: "missp.dat",
  holbrook: "holbrook-missp.dat",
  aspell: "aspell.dat",
  wikipedia: "wikipedia.dat",
};

function choose<K extends string>(what: string, value: string, table: Record<K, string>): string {
  if (!Object.prototype.hasOwnProperty.call(table, value)) {
    throw new Error(`${what} "${value}" is not one of ${Object.keys(table).join(", ")}.`);
  }
  return table[value as K];
}

/** The text of one file (cached + verified, or the committed sample) and its registry entry. */
async function readText(name: string, file: string, options: LoadOptions): Promise<{ text: string; entry: DatasetFile; where: string }> {
  const { sample, ...ensure } = options;
  const where = sample ? await sampleFile(name, file) : (await ensureFileReport(name, file, { ...ensure, files: undefined })).file;
  const entry = getFile(name, file, sample ? sampleRegistry() : ensure.registry ?? registry());
  const bytes = fs.readFileSync(where);
  // A stored .gz (imdb/unsup.txt.gz) is read through gunzip; everything else is UTF-8 text.
  return { text: (file.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8"), entry, where };
}

function checkCount<T>(rows: T[], entry: DatasetFile, where: string): T[] {
  if (entry.examples !== undefined && rows.length !== entry.examples) {
    throw new Error(`parsed ${rows.length} records from ${where} but the registry says ${entry.examples}: the parser and the file disagree.`);
  }
  return rows;
}

/** Split into lines, dropping the empty string after a final newline. */
function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

// ---------------------------------------------------------------------------------------------- SST-2

/** Parse a GLUE SST-2 file: header `sentence\tlabel` (train, dev) or `index\tsentence` (test, unlabelled). */
export function parseSst2(text: string, where = "SST-2 file"): Sst2Example[] | Sst2TestExample[] {
  const lines = linesOf(text);
  const header = lines[0];
  if (header === "sentence\tlabel") {
    const out: Sst2Example[] = new Array(lines.length - 1);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const tab = line.lastIndexOf("\t");
      const label = line.slice(tab + 1);
      if (tab < 0 || (label !== "0" && label !== "1")) throw new Error(`${where} line ${i + 1}: expected "sentence<TAB>0|1", got ${JSON.stringify(line)}.`);
      out[i - 1] = { text: line.slice(0, tab).trim(), label: label === "1" ? 1 : 0 };
    }
    return out;
  }
  if (header === "index\tsentence") {
    const out: Sst2TestExample[] = new Array(lines.length - 1);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const tab = line.indexOf("\t");
      const index = Number(line.slice(0, tab));
      if (tab < 0 || !Number.isInteger(index)) throw new Error(`${where} line ${i + 1}: expected "index<TAB>sentence", got ${JSON.stringify(line)}.`);
      out[i - 1] = { text: line.slice(tab + 1).trim(), label: null, index };
    }
    return out;
  }
  throw new Error(`${where}: header ${JSON.stringify(header)} is neither "sentence\\tlabel" nor "index\\tsentence": is this an SST-2 file?`);
}

/** SST-2 (GLUE): train 67,349 and dev 872 labelled rows; test 1,821 rows without labels. */
export function loadSst2(split: "test", options?: LoadOptions): Promise<Sst2TestExample[]>;
export function loadSst2(split: "train" | "dev", options?: LoadOptions): Promise<Sst2Example[]>;
export function loadSst2(split: Sst2Split, options?: LoadOptions): Promise<Sst2Example[] | Sst2TestExample[]>;
export async function loadSst2(split: Sst2Split, options: LoadOptions = {}): Promise<Sst2Example[] | Sst2TestExample[]> {
  const { text, entry, where } = await readText("sst2", choose("SST-2 split", split, SST2_FILES), options);
  return checkCount(parseSst2(text, where) as Sst2Example[], entry, where);
}

// ---------------------------------------------------------------------------------------------- COGS

/** Parse a COGS file: no header, `sentence\tlogical form\tcategory` per line. */
export function parseCogs(text: string, where = "COGS file"): CogsExample[] {
  return linesOf(text).map((line, i) => {
    const cols = line.split("\t");
    if (cols.length !== 3) throw new Error(`${where} line ${i + 1}: expected 3 tab-separated columns, got ${cols.length}.`);
    return { source: cols[0], target: cols[1], category: cols[2] };
  });
}

/** COGS (Kim & Linzen 2020): train 24,155 / dev 3,000 / test 3,000 / gen 21,000. */
export async function loadCogs(split: CogsSplit, options: LoadOptions = {}): Promise<CogsExample[]> {
  const { text, entry, where } = await readText("cogs", choose("COGS split", split, COGS_FILES), options);
  return checkCount(parseCogs(text, where), entry, where);
}

// ---------------------------------------------------------------------------------------------- Multi30k

/** Multi30k task 1 English–German, raw (not tokenized, cased): train 29,000 / val 1,014 / test 1,000 pairs. */
export async function loadMulti30k(split: Multi30kSplit, options: LoadOptions = {}): Promise<Multi30kPair[]> {
  const prefix = choose("Multi30k split", split, MULTI30K_PREFIX);
  const en = await readText("multi30k_en_de", `${prefix}.en`, options);
  const de = await readText("multi30k_en_de", `${prefix}.de`, options);
  const enLines = checkCount(linesOf(en.text), en.entry, en.where);
  const deLines = checkCount(linesOf(de.text), de.entry, de.where);
  if (enLines.length !== deLines.length) {
    throw new Error(`${en.where} has ${enLines.length} lines but ${de.where} has ${deLines.length}: the sides must align line by line.`);
  }
  return enLines.map((line, i) => ({ en: line, de: deLines[i] }));
}

// ---------------------------------------------------------------------------------------------- Tiny Shakespeare

/** Tiny Shakespeare: one string of 1,115,394 characters (convention: first 90% train, last 10% validation). */
export async function loadTinyShakespeare(options: LoadOptions = {}): Promise<string> {
  return (await readText("tiny_shakespeare", "input.txt", options)).text;
}

// ---------------------------------------------------------------------------------------------- IMDB

// Windows-1252 punctuation that upstream stored as C1 control characters U+0080–U+009F (imdb/SOURCE.md,
// "Mojibake"); undefined code points (81, 8D, 8F, 90, 9D) map to nothing.
const CP1252 = "€\u0000‚ƒ„…†‡ˆ‰Š‹Œ\u0000Ž\u0000\u0000‘’“”•–—˜™š›œ\u0000žŸ";

/**
 * A review as a reader sees it: `<br />` tags become spaces, C1 mojibake becomes the punctuation it stood for
 * (U+0085 -> "…", U+0092 -> "’", U+0096 -> "–"), other control characters become spaces, runs of whitespace
 * one space. (U+0085 is a line break to Unicode-aware splitters: never split reviews on anything but "\n".)
 */
export function cleanReviewText(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/[\u0080-\u009f]/g, (c) => CP1252[c.charCodeAt(0) - 0x80].replace("\u0000", ""))
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Parse an IMDB TSV (header `label\trating\tid\ttext`). Fields are never quoted: a leading `"` is text. */
export function parseImdb(text: string, where = "IMDB file"): ImdbReview[] {
  const lines = linesOf(text);
  if (lines[0] !== "label\trating\tid\ttext") throw new Error(`${where}: header ${JSON.stringify(lines[0])} is not "label\\trating\\tid\\ttext": is this an IMDB TSV?`);
  return lines.slice(1).map((line, i) => {
    const cols = line.split("\t");
    const [label, rating, id] = cols.slice(0, 3).map(Number);
    if (cols.length !== 4 || (label !== 0 && label !== 1) || !Number.isInteger(rating) || !Number.isInteger(id)) {
      throw new Error(`${where} line ${i + 2}: expected "0|1<TAB>rating<TAB>id<TAB>text", got ${JSON.stringify(line.slice(0, 80))}.`);
    }
    return { text: cols[3], label: label as 0 | 1, rating, id };
  });
}

/**
 * IMDB (Maas et al. 2011), labelled: train 25,000 / test 25,000 full-length reviews, balanced. Rows come
 * SORTED (all negatives, then all positives): shuffle before taking a subset or batching. 123 texts occur in
 * both splits (imdb/SOURCE.md); drop them from train for a clean held-out score.
 */
export async function loadImdb(split: ImdbSplit, options: ImdbLoadOptions = {}): Promise<ImdbReview[]> {
  const { raw, ...rest } = options;
  const { text, entry, where } = await readText("imdb", choose("IMDB split", split, IMDB_FILES), rest);
  const rows = checkCount(parseImdb(text, where), entry, where);
  return raw ? rows : rows.map((r) => ({ ...r, text: cleanReviewText(r.text) }));
}

/** IMDB's 50,000 unlabelled reviews (upstream train/unsup, in id order), cleaned unless `raw`. */
export async function loadImdbUnlabelled(options: ImdbLoadOptions = {}): Promise<string[]> {
  const { raw, ...rest } = options;
  const { text, entry, where } = await readText("imdb", "unsup.txt.gz", rest);
  const rows = checkCount(linesOf(text), entry, where);
  return raw ? rows : rows.map(cleanReviewText);
}

// ---------------------------------------------------------------------------------------------- WikiText-2

/** Undo WikiText's join escapes: ` @-@ ` -> `-`, ` @,@ ` -> `,`, ` @.@ ` -> `.`. */
export function unescapeWikiText(text: string): string {
  return text.replace(/ @([-,.])@ /g, "$1");
}

/** Parse a WikiText `.tokens` file into its non-blank lines; ` = = Title = = ` is a heading of level 2. */
export function parseWikiText(text: string, unescape = true): WikiTextLine[] {
  const out: WikiTextLine[] = [];
  for (const line of linesOf(text)) {
    const t = line.trim();
    if (t === "") continue;
    const m = /^((?:= )+)(.*?)((?: =)+)$/.exec(t);
    const heading = m && m[1].length === m[3].length ? m[1].length / 2 : 0;
    const body = heading && m ? m[2] : t;
    out.push({ text: unescape ? unescapeWikiText(body) : body, heading });
  }
  return out;
}

/**
 * WikiText-2 (Merity et al. 2016), the tokenized version: every non-blank line (paragraphs and headings) of
 * train 23,767 / valid 2,461 / test 2,891, in article order. Text is already tokenized (spaces around
 * punctuation) and rare words are `<unk>`. Licence CC BY-SA: attribute Merity et al. and Wikipedia.
 */
export async function loadWikiText2(split: WikiTextSplit, options: WikiTextLoadOptions = {}): Promise<WikiTextLine[]> {
  const { unescape = true, ...rest } = options;
  const { text, entry, where } = await readText("wikitext2", choose("WikiText-2 split", split, WIKITEXT_FILES), rest);
  return checkCount(parseWikiText(text, unescape), entry, where);
}

// ---------------------------------------------------------------------------------------------- spelling

/**
 * Parse a Mitton list: a `$correct` line starts a block; each following line is one misspelling of it.
 * Mitton writes a space inside a word as `_` (a_lot): we give it back as a space. Holbrook lines carry a
 * frequency after a space (dropped), and its `$?` block (unknown target) is skipped.
 */
export function parseSpellingList(text: string, where = "spelling list"): Misspelling[] {
  const out: Misspelling[] = [];
  let correct: string | null = null;
  const lines = linesOf(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    if (line.startsWith("$")) {
      correct = line.slice(1).replace(/_/g, " ");
      continue;
    }
    if (correct === null) throw new Error(`${where} line ${i + 1}: misspelling ${JSON.stringify(line)} before any $correct line.`);
    if (correct === "?") continue;
    const word = line.replace(/ \d+$/, ""); // Holbrook's frequency column
    out.push({ correct, misspelling: word.replace(/_/g, " ") });
  }
  return out;
}

/** Mitton's misspellings: birkbeck 36,133; holbrook 1,771 (known targets); aspell 531; wikipedia 2,455. */
export async function loadSpelling(list: SpellingList, options: LoadOptions = {}): Promise<Misspelling[]> {
  const { text, entry, where } = await readText("spelling_mitton", choose("spelling list", list, SPELLING_FILES), options);
  return checkCount(parseSpellingList(text, where), entry, where);
}
