// The text corpora for pre-training and transfer: IMDB (labelled + unlabelled) and WikiText-2 — their loaders,
// the gzip-by-content check, and building IMDB from the Stanford archive (lib/data/aclimdb.ts).
// Uses the real mirror when at hand (NLU_DATA_MIRROR or ../shared/datasets), else the committed samples.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { ChecksumError, Registry, ensureFileReport, getFile, registry, repoRoot, sampleRegistry } from "../lib/data/registry";
import { cleanReviewText, loadImdb, loadImdbUnlabelled, loadWikiText2, parseImdb, parseWikiText, unescapeWikiText } from "../lib/data/corpora";
import { AclImdbReview, IMDB_RECIPES, labelledTsv, parseReviewPath, readAclImdbArchive, unsupLines } from "../lib/data/aclimdb";

const ROOT = repoRoot();
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-text-corpora-"));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const tmpDir = (label: string): string => fs.mkdtempSync(path.join(tmpRoot, `${label}-${n++}-`));
const sha = (b: Buffer | string): string => crypto.createHash("sha256").update(b).digest("hex");
const quiet = (): void => {};

const shared = path.resolve(ROOT, "..", "shared", "datasets");
const REAL = process.env.NLU_DATA_MIRROR ? path.resolve(ROOT, process.env.NLU_DATA_MIRROR) : fs.existsSync(path.join(shared, "imdb")) ? shared : null;

/** A tar archive (ustar, as GNU tar writes it) of the given files, gzipped. */
function tarGz(files: [string, Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, body] of files) {
    const h = Buffer.alloc(512);
    h.write(name, 0, "utf8");
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(body.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("0", 156);
    h.write("ustar\u000000", 257);
    h.write("        ", 148);
    let sum = 0;
    for (const x of h) sum += x;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

/** An aclImdb-shaped archive: a few reviews per folder (one with a TAB), plus files the recipe must skip. */
function fakeArchive(): { gz: Buffer; reviews: [string, string][] } {
  const reviews: [string, string][] = [
    ["aclImdb/train/neg/10_2.txt", "Dull.\tVery dull.<br /><br />Skip it."],
    ["aclImdb/train/neg/2_1.txt", "\"Worst\" film ever."],
    ["aclImdb/train/pos/0_9.txt", "Loved it \u0085 truly."],
    ["aclImdb/test/neg/0_4.txt", "Meh."],
    ["aclImdb/test/pos/0_10.txt", "Great."],
    ["aclImdb/train/unsup/1_0.txt", "second\tunlabelled"],
    ["aclImdb/train/unsup/0_0.txt", "first unlabelled"],
  ];
  const files: [string, Buffer][] = [
    ["aclImdb/README", Buffer.from("readme")],
    ["aclImdb/train/labeledBow.feat", Buffer.from("0 0:1\n")],
    ...reviews.map(([p, t]): [string, Buffer] => [p, Buffer.from(t)]),
  ];
  return { gz: tarGz(files), reviews };
}

test("aclImdb recipe: reviews read from a tar.gz, TSV rows in label then id order, TABs to spaces, unsup in id order", async () => {
  const dir = tmpDir("recipe");
  const file = path.join(dir, "a.tar.gz");
  fs.writeFileSync(file, fakeArchive().gz);
  const reviews = await readAclImdbArchive(file);
  assert.equal(reviews.length, 7, "README and .feat are skipped");
  assert.deepEqual(parseReviewPath("aclImdb/test/pos/123_8.txt"), { split: "test", folder: "pos", id: 123, rating: 8 });
  assert.equal(parseReviewPath("aclImdb/imdb.vocab"), null);
  assert.equal(
    labelledTsv(reviews, "train").toString(),
    "label\trating\tid\ttext\n0\t1\t2\t\"Worst\" film ever.\n0\t2\t10\tDull. Very dull.<br /><br />Skip it.\n1\t9\t0\tLoved it \u0085 truly.\n",
  );
  assert.equal(unsupLines(reviews).toString(), "first unlabelled\nsecond\tunlabelled\n");
  assert.equal(zlib.gunzipSync(IMDB_RECIPES["unsup.txt.gz"](reviews)).toString(), "first unlabelled\nsecond\tunlabelled\n");
  const gap: AclImdbReview[] = [{ split: "train", folder: "unsup", id: 1, rating: 0, bytes: Buffer.from("x") }];
  assert.throws(() => unsupLines(gap), /has no review 0 \(next is 1\): the archive is incomplete/);
  // The parsed TSV is what the loader returns, cleaned.
  const rows = parseImdb(labelledTsv(reviews, "train").toString());
  assert.deepEqual(rows.map((r) => [r.label, r.id, cleanReviewText(r.text)]), [[0, 2, "\"Worst\" film ever."], [0, 10, "Dull. Very dull. Skip it."], [1, 0, "Loved it … truly."]]);
});

test("the recipe rebuilds the mirror's train.tsv byte for byte (so users of the Stanford archive get the registry's file)", { skip: REAL ? false : "needs the IMDB mirror" }, () => {
  const tsv = fs.readFileSync(path.join(REAL as string, "imdb", "train.tsv"));
  const reviews: AclImdbReview[] = parseImdb(tsv.toString("utf8")).map((r) => ({
    split: "train", folder: r.label ? "pos" : "neg", id: r.id, rating: r.rating, bytes: Buffer.from(r.text, "utf8"),
  }));
  // Shuffled, as a tar lists them: the recipe must sort.
  reviews.reverse();
  assert.equal(sha(labelledTsv(reviews, "train")), getFile("imdb", "train.tsv").sha256);
});

test("an assembled file without cache or mirror is built from the archive, verified, and cached", async () => {
  const { gz } = fakeArchive();
  const server = http.createServer((req, res) => {
    if (req.url !== "/sentiment/aclImdb_v1.tar.gz") return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": gz.length }).end(gz);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const dir = tmpDir("archive");
    fs.writeFileSync(path.join(dir, "a.tar.gz"), gz);
    const reviews = await readAclImdbArchive(path.join(dir, "a.tar.gz"));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/sentiment/aclImdb_v1.tar.gz`;
    const reg = JSON.parse(JSON.stringify(registry())) as Registry;
    reg.datasets.imdb.files = reg.datasets.imdb.files.filter((f) => f.assembled);
    for (const f of reg.datasets.imdb.files) {
      delete f.examples;
      const built = IMDB_RECIPES[f.path](reviews);
      const text = f.path.endsWith(".gz") ? zlib.gunzipSync(built) : built;
      // The registry's gzip is GNU gzip's: give it other bytes so only the content check can pass.
      Object.assign(f, { sha256: sha("not these bytes"), bytes: 1 }, f.path.endsWith(".gz") ? { contentSha256: sha(text), contentBytes: text.length } : { sha256: sha(built), bytes: built.length });
      f.assembled = { recipe: f.assembled!.recipe, archive: { url, bytes: gz.length, sha256: sha(gz) } };
    }
    const cacheDir = tmpDir("archive-cache");
    const logs: string[] = [];
    const r = await ensureFileReport("imdb", "train.tsv", { mirror: null, cacheDir, registry: reg, log: (l) => logs.push(l) });
    assert.equal(r.origin, "download");
    assert.match(logs.join("\n"), /imdb: building its files from http:.*aclImdb_v1\.tar\.gz/);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, "imdb")).sort(), [".test.tsv.verified", ".train.tsv.verified", ".unsup.txt.gz.verified", "test.tsv", "train.tsv", "unsup.txt.gz"], "all three built at once; the archive is gone");
    const un = await ensureFileReport("imdb", "unsup.txt.gz", { mirror: null, cacheDir, registry: reg, log: quiet, download: false });
    assert.deepEqual([un.origin, un.check], ["cache", "stamp"]);
    assert.deepEqual(await loadImdbUnlabelled({ mirror: null, cacheDir, registry: reg, log: quiet, download: false }), ["first unlabelled", "second unlabelled"]);
    // A tampered archive is refused before anything is built.
    const bad = JSON.parse(JSON.stringify(reg)) as Registry;
    for (const f of bad.datasets.imdb.files) f.assembled!.archive.sha256 = sha("other");
    await assert.rejects(ensureFileReport("imdb", "test.tsv", { mirror: null, cacheDir: tmpDir("bad-archive"), registry: bad, log: quiet }), (e: unknown) => e instanceof ChecksumError && /expected sha256 [0-9a-f]{64}/.test((e as Error).message));
  } finally {
    server.close();
  }
});

test("a gzip is accepted by the sha256 of its text (another gzip of the same text), a changed text is not", async () => {
  const reg = JSON.parse(JSON.stringify(sampleRegistry())) as Registry;
  const f = getFile("imdb", "unsup.txt.gz", reg);
  const text = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, "datasets", "samples", "imdb", "unsup.txt.gz")));
  Object.assign(f, { contentSha256: sha(text), contentBytes: text.length });
  const mirror = tmpDir("gz-mirror");
  fs.mkdirSync(path.join(mirror, "imdb"));
  const cacheDir = tmpDir("gz-cache");
  fs.mkdirSync(path.join(cacheDir, "imdb"));
  fs.writeFileSync(path.join(cacheDir, "imdb", "unsup.txt.gz"), zlib.gzipSync(text, { level: 1 }));
  const r = await ensureFileReport("imdb", "unsup.txt.gz", { mirror, cacheDir, registry: reg, log: quiet, download: false });
  assert.deepEqual([r.origin, r.check], ["cache", "sha256"]);
  const changed = Buffer.from(text);
  changed[5] ^= 1;
  fs.writeFileSync(path.join(cacheDir, "imdb", "unsup.txt.gz"), zlib.gzipSync(changed));
  fs.rmSync(path.join(cacheDir, "imdb", ".unsup.txt.gz.verified"));
  await assert.rejects(ensureFileReport("imdb", "unsup.txt.gz", { mirror, cacheDir, registry: reg, log: quiet, download: false }), /could not be fetched: the cached copy had sha256/);
});

test("IMDB and WikiText-2 loaders: counts, labels, cleaning, headings", async () => {
  const o = REAL ? { mirror: REAL, cacheDir: tmpDir("real"), log: quiet } : { sample: true };
  const s = (file: string, name = "imdb"): number => getFile(name, file, REAL ? registry() : sampleRegistry()).examples as number;
  const train = await loadImdb("train", o);
  const testSet = await loadImdb("test", o);
  const unsup = await loadImdbUnlabelled(o);
  assert.deepEqual([train.length, testSet.length, unsup.length], [s("train.tsv"), s("test.tsv"), s("unsup.txt.gz")]);
  for (const rows of [train, testSet]) {
    assert.ok(rows.every((r) => (r.label === 0 ? r.rating <= 4 : r.rating >= 7) && r.rating >= 1 && r.rating <= 10));
    assert.ok(rows.every((r) => !/<br|[\u0080-\u009f\t]/i.test(r.text) && r.text === r.text.trim()), "cleaned");
  }
  assert.ok(unsup.every((t) => t.length > 0 && !/<br|\t/.test(t)));
  const raw = await loadImdb("train", { ...o, raw: true });
  assert.ok(raw.some((r) => r.text.includes("<br />")), "raw keeps upstream's tags");
  const wiki = await loadWikiText2("train", o);
  assert.deepEqual(wiki[0], { text: "Valkyria Chronicles III", heading: 1 });
  assert.ok(wiki.some((l) => l.heading === 2) && wiki.every((l) => l.text.length > 0 && !/ @[-,.]@ /.test(l.text)));
  if (REAL) {
    assert.deepEqual([train.length, testSet.length, unsup.length], [25000, 25000, 50000]);
    assert.equal(train.filter((r) => r.label === 1).length, 12500);
    assert.deepEqual([train[0].label, train[0].id, train[0].rating], [0, 0, 3]);
    assert.match(unsup[0], /^I admit, the great majority of films released before say 1933/);
    const lens = await Promise.all((["train", "valid", "test"] as const).map(async (x) => (await loadWikiText2(x, o)).length));
    assert.deepEqual(lens, [23767, 2461, 2891]);
    assert.equal(wiki.filter((l) => l.heading === 1).length, 629, "SOURCE.md: 600 titles plus 29 table legends of the same shape");
  }
});

test("text parsers: cleaning, unescaping, headings, errors", () => {
  assert.equal(cleanReviewText("A<br /><br />B\u0092s \u0096 C\u0085<BR>D\u0008E\u0081"), "A B’s – C… D E");
  assert.equal(unescapeWikiText("1 @,@ 000 and 3 @.@ 5 role @-@ playing"), "1,000 and 3.5 role-playing");
  assert.deepEqual(parseWikiText(" \n = Title = \n = = Part = = \n Text @-@ here . \n", true), [
    { text: "Title", heading: 1 }, { text: "Part", heading: 2 }, { text: "Text-here .", heading: 0 },
  ]);
  assert.throws(() => parseImdb("text\tlabel\n", "x.tsv"), /x\.tsv: header "text\\tlabel" is not/);
  assert.throws(() => parseImdb("label\trating\tid\ttext\n2\t1\t0\thi\n", "x.tsv"), /x\.tsv line 2: expected "0\|1<TAB>rating<TAB>id<TAB>text"/);
  assert.deepEqual(parseImdb("label\trating\tid\ttext\n1\t8\t4\t\"Quoted\" start\n"), [{ text: "\"Quoted\" start", label: 1, rating: 8, id: 4 }]);
});
