// Dataset registry, fetch/verify/cache, and the typed loaders.
//
// The mirror is the real corpus collection when NLU_DATA_MIRROR is set or ../shared/datasets (relative to the
// repo root) exists. Without it, the same tests run against a temp mirror built from the committed samples
// and their registry (datasets/samples/samples.json), so good/corrupt/missing still exercise the real code.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import {
  ChecksumError, MissingDataError, Registry, datasetNames, ensureDataset, ensureFile, ensureFileReport, getFile,
  registry, repoRoot, sampleRegistry,
} from "../lib/data/registry";
import {
  cleanReviewText, loadCogs, loadImdb, loadImdbUnlabelled, loadMulti30k, loadSpelling, loadSst2, loadTinyShakespeare, loadWikiText2,
  parseCogs, parseImdb, parseSpellingList, parseSst2, parseWikiText,
} from "../lib/data/corpora";
import { makeSamples } from "../scripts/make-samples";

const ROOT = repoRoot();
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "nlu-datasets-test-"));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
const tmpDir = (label: string): string => {
  const d = path.join(tmpRoot, `${label}-${tmpCount++}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const sha = (buf: Buffer | string): string => crypto.createHash("sha256").update(buf).digest("hex");
const quiet = (): void => {};

function findRealMirror(): string | null {
  if (process.env.NLU_DATA_MIRROR) return path.resolve(ROOT, process.env.NLU_DATA_MIRROR);
  const shared = path.resolve(ROOT, "..", "shared", "datasets");
  return fs.existsSync(path.join(shared, "sst2", "train.tsv")) ? shared : null;
}

/** A mirror folder holding the committed samples, laid out like the real one. */
function sampleMirror(): string {
  const dir = tmpDir("sample-mirror");
  const reg = sampleRegistry();
  for (const name of datasetNames(reg)) {
    fs.mkdirSync(path.join(dir, name));
    for (const f of reg.datasets[name].files) fs.copyFileSync(path.join(ROOT, "datasets", "samples", name, f.path), path.join(dir, name, f.path));
  }
  return dir;
}

const REAL = findRealMirror();
const MIRROR = REAL ?? sampleMirror();
const REG: Registry = REAL ? registry() : sampleRegistry();
const expected = (name: string, file: string): number => getFile(name, file, REG).examples as number;
const opts = (cacheDir: string) => ({ mirror: MIRROR, cacheDir, registry: REG, log: quiet });

test(`registry: every corpus has licence, citation and checksummed public URLs (mirror: ${REAL ?? "committed samples"})`, () => {
  const reg = registry();
  assert.deepEqual(datasetNames(reg), ["sst2", "cogs", "multi30k_en_de", "tiny_shakespeare", "spelling_mitton", "imdb", "wikitext2"]);
  for (const name of datasetNames(reg)) {
    const d = reg.datasets[name];
    assert.ok(d.licence.length > 10 && d.citation.length > 10, `${name} needs licence and citation`);
    for (const f of d.files) {
      assert.match(f.url ?? "", /^https:\/\//, `${name}/${f.path} url`);
      assert.match(f.sha256, /^[0-9a-f]{64}$/);
    }
  }
  assert.equal(getFile("multi30k_en_de", "train.en").transform, "gunzip");
  // The registry is derived from the collection's MANIFEST: where that is at hand, they must agree exactly.
  const manifestPath = REAL && path.join(REAL, "MANIFEST.json");
  if (manifestPath && fs.existsSync(manifestPath)) {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { files: Array<Record<string, unknown>> };
    const withUrl = manifest.files.filter((f) => f.url);
    let n = 0;
    for (const name of datasetNames(reg)) {
      for (const f of reg.datasets[name].files) {
        const m = withUrl.find((x) => x.path === `${name}/${f.path}`);
        assert.ok(m, `${name}/${f.path} is not in MANIFEST.json`);
        assert.deepEqual([f.url, f.sha256, f.bytes, f.sourceSha256], [m.url, m.sha256, m.bytes, m.source_sha256]);
        n++;
      }
    }
    assert.equal(n, withUrl.length, "registry and MANIFEST list the same downloadable files");
  }
});

test("unknown names and splits fail with the valid choices", async () => {
  await assert.rejects(ensureDataset("sst3", { cacheDir: tmpDir("unknown"), log: quiet }), /unknown dataset "sst3": valid names are sst2, cogs, multi30k_en_de, tiny_shakespeare, spelling_mitton, imdb, wikitext2/);
  await assert.rejects(ensureFile("sst2", "validation.tsv", { log: quiet }), /dataset "sst2" has no file "validation.tsv": it has train.tsv, dev.tsv, test.tsv/);
  await assert.rejects(loadSst2("validation" as "dev", { sample: true }), /SST-2 split "validation" is not one of train, dev, test/);
  await assert.rejects(loadSpelling("oxford" as "aspell", { sample: true }), /spelling list "oxford" is not one of birkbeck, holbrook, aspell, wikipedia/);
});

test("good: mirror copy is verified, cached, then trusted by stamp; loaders return every row", async () => {
  const cacheDir = tmpDir("good");
  const first = await ensureDataset("sst2", opts(cacheDir));
  assert.deepEqual(first.files.map((f) => [f.path, f.origin, f.check]), [
    ["train.tsv", "mirror", "sha256"], ["dev.tsv", "mirror", "sha256"], ["test.tsv", "mirror", "sha256"],
  ]);
  for (const f of first.files) assert.equal(sha(fs.readFileSync(f.file)), getFile("sst2", f.path, REG).sha256);
  const second = await ensureDataset("sst2", opts(cacheDir));
  assert.deepEqual(second.files.map((f) => [f.origin, f.check]), [["cache", "stamp"], ["cache", "stamp"], ["cache", "stamp"]]);

  const train = await loadSst2("train", opts(cacheDir));
  const dev = await loadSst2("dev", opts(cacheDir));
  const testSet = await loadSst2("test", opts(cacheDir));
  assert.deepEqual([train.length, dev.length, testSet.length], [expected("sst2", "train.tsv"), expected("sst2", "dev.tsv"), expected("sst2", "test.tsv")]);
  assert.ok(train.every((x) => (x.label === 0 || x.label === 1) && x.text.length > 0 && x.text === x.text.trim()));
  assert.ok(testSet.every((x) => x.label === null && Number.isInteger(x.index)));
  const cogs = await loadCogs("train", opts(cacheDir));
  assert.equal(cogs.length, expected("cogs", "train.tsv"));
  assert.ok(cogs.every((x) => x.source.length > 0 && x.target.length > 0 && x.category.length > 0));
  const m30k = await loadMulti30k("train", opts(cacheDir));
  assert.equal(m30k.length, expected("multi30k_en_de", "train.en"));
  assert.ok(m30k.every((p) => p.en.length > 0 && p.de.length > 0));
  if (REAL) {
    assert.deepEqual([train.length, dev.length, testSet.length, cogs.length, m30k.length], [67349, 872, 1821, 24155, 29000]);
    assert.deepEqual(train[0], { text: "hide new secretions from the parental units", label: 0 });
    assert.equal(train.filter((x) => x.label === 1).length, 37569); // SOURCE.md: 29,780 negative / 37,569 positive
    assert.deepEqual(testSet[0], { text: "uneasy mishmash of styles and genres .", label: null, index: 0 });
    assert.equal(cogs.filter((x) => x.category === "primitive").length, 143);
    assert.deepEqual(m30k[0], {
      en: "Two young, White males are outside near many bushes.",
      de: "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
    });
    assert.equal((await loadCogs("gen", opts(cacheDir))).length, 21000);
    assert.equal((await loadTinyShakespeare(opts(cacheDir))).length, 1115394);
    const spelling = await Promise.all((["birkbeck", "holbrook", "aspell", "wikipedia"] as const).map((l) => loadSpelling(l, opts(cacheDir))));
    assert.deepEqual(spelling.map((s) => s.length), [36133, 1771, 531, 2455]);
  }
  const t0 = Date.now();
  await loadSst2("train", opts(cacheDir));
  // No timing assertion (tests must not depend on machine speed); the figure is only reported.
  console.log(`# SST-2 train from a warm cache: ${Date.now() - t0} ms`);
});

test("loaders use NLU_DATA_MIRROR when no mirror option is given", async () => {
  const cacheDir = tmpDir("env");
  const prev = process.env.NLU_DATA_MIRROR;
  process.env.NLU_DATA_MIRROR = MIRROR;
  try {
    const dev = await loadSst2("dev", { cacheDir, registry: REG, log: quiet, download: false });
    assert.equal(dev.length, expected("sst2", "dev.tsv"));
  } finally {
    if (prev === undefined) delete process.env.NLU_DATA_MIRROR;
    else process.env.NLU_DATA_MIRROR = prev;
  }
});

test("a cached file that changed is re-hashed; a corrupted one is moved aside and fetched again", async () => {
  const cacheDir = tmpDir("recheck");
  const file = await ensureFile("sst2", "dev.tsv", opts(cacheDir));
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later); // same bytes, new mtime: the stamp no longer vouches for it
  assert.deepEqual(await ensureFileReport("sst2", "dev.tsv", opts(cacheDir)).then((r) => [r.origin, r.check]), ["cache", "sha256"]);
  const bytes = fs.readFileSync(file);
  bytes[10] ^= 1;
  fs.writeFileSync(file, bytes);
  const logs: string[] = [];
  const r = await ensureFileReport("sst2", "dev.tsv", { ...opts(cacheDir), log: (l) => logs.push(l) });
  assert.equal(r.origin, "mirror");
  assert.equal(sha(fs.readFileSync(file)), getFile("sst2", "dev.tsv", REG).sha256);
  assert.deepEqual(fs.readFileSync(`${file}.bad`), bytes);
  assert.match(logs.join("\n"), new RegExp(`cached copy had sha256 ${sha(bytes)}.*expected ${getFile("sst2", "dev.tsv", REG).sha256}`));
});

test("corrupt: a mirror file with one changed byte is rejected, naming the file and both hashes, and not cached", async () => {
  const bad = tmpDir("bad-mirror");
  fs.mkdirSync(path.join(bad, "sst2"));
  const bytes = fs.readFileSync(path.join(MIRROR, "sst2", "dev.tsv"));
  bytes[bytes.length - 2] ^= 1; // the last label, 0 <-> 1: same size, different content
  fs.writeFileSync(path.join(bad, "sst2", "dev.tsv"), bytes);
  const cacheDir = tmpDir("corrupt");
  const want = getFile("sst2", "dev.tsv", REG).sha256;
  const check = (e: unknown): boolean => {
    assert.ok(e instanceof ChecksumError);
    assert.match(e.message, /sst2\/dev\.tsv/);
    assert.match(e.message, new RegExp(`expected sha256 ${want}`));
    assert.match(e.message, new RegExp(`got sha256 ${sha(bytes)}`));
    return true;
  };
  await assert.rejects(ensureFile("sst2", "dev.tsv", { ...opts(cacheDir), mirror: bad }), check);
  await assert.rejects(loadSst2("dev", { ...opts(cacheDir), mirror: bad }), check);
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, "sst2")), [], "nothing (not even a temp file) is left in the cache");
});

test("missing: not cached and no way to fetch -> the message names the fetch command", async () => {
  const empty = tmpDir("empty-mirror");
  const cacheDir = tmpDir("missing");
  const err = (e: unknown): boolean => {
    assert.ok(e instanceof MissingDataError);
    assert.match(e.message, /sst2\/train\.tsv is not in the cache/);
    assert.match(e.message, /npm run fetch-data -- sst2/);
    assert.match(e.message, /NLU_DATA_MIRROR/);
    return true;
  };
  await assert.rejects(loadSst2("train", { mirror: empty, cacheDir, registry: REG, download: false, log: quiet }), err);
  // A download that fails (nothing listens on the port) ends the same way, with the reason included.
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const reg = withUrls(REG, "sst2", (f) => `http://127.0.0.1:${port}/${f.path}`);
  await assert.rejects(loadSst2("train", { mirror: empty, cacheDir, registry: reg, log: quiet }), (e: unknown) => err(e) && /downloading http:\/\/127\.0\.0\.1:\d+\/train\.tsv failed/.test((e as Error).message));
  await assert.rejects(loadSst2("train", { mirror: null, cacheDir, registry: REG, download: false, log: quiet }), /NLU_DATA_MIRROR is not set/);
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, "sst2")), []);
  await assert.rejects(ensureFile("sst2", "dev.tsv", { mirror: path.join(empty, "nope"), cacheDir, log: quiet }), /mirror ".*nope" is not a folder/);
});

/** A copy of `reg` where dataset `name`'s files get URLs from `url`. */
function withUrls(reg: Registry, name: string, url: (f: { path: string }) => string, extra: Record<string, object> = {}): Registry {
  const copy = JSON.parse(JSON.stringify(reg)) as Registry;
  for (const f of copy.datasets[name].files) Object.assign(f, { url: url(f), transform: undefined }, extra[f.path] ?? {});
  return copy;
}

test("download: redirects followed, gzip undone, progress reported, bad bytes rejected", async () => {
  const served = new Map<string, Buffer>();
  const enPath = "val.en";
  const en = fs.readFileSync(path.join(MIRROR, "multi30k_en_de", enPath));
  const gz = zlib.gzipSync(en);
  served.set(`/files/${enPath}.gz`, gz);
  served.set("/files/dev.tsv", fs.readFileSync(path.join(MIRROR, "sst2", "dev.tsv")));
  served.set("/files/train.tsv", Buffer.from("sentence\tlabel\nnot the real file \t1\n"));
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    if (url.startsWith("/moved/")) {
      res.writeHead(302, { location: url.replace("/moved/", "/files/") });
      return res.end();
    }
    const body = served.get(url);
    if (!body) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const cacheDir = tmpDir("download");
    const logs: string[] = [];
    const log = (l: string): number => logs.push(l);
    const sst = withUrls(REG, "sst2", (f) => `${base}/moved/${f.path}`);
    const r = await ensureFileReport("sst2", "dev.tsv", { mirror: null, cacheDir, registry: sst, log });
    assert.equal(r.origin, "download");
    assert.equal(sha(fs.readFileSync(r.file)), getFile("sst2", "dev.tsv", REG).sha256);
    assert.match(logs.join("\n"), /downloading sst2\/dev\.tsv/);
    assert.match(logs.join("\n"), /sst2\/dev\.tsv: .* \(100%\)/);

    const m30k = withUrls(REG, "multi30k_en_de", (f) => `${base}/moved/${f.path}.gz`, {
      [enPath]: { transform: "gunzip", sourceBytes: gz.length, sourceSha256: sha(gz) },
    });
    const g = await ensureFileReport("multi30k_en_de", enPath, { mirror: null, cacheDir, registry: m30k, log });
    assert.deepEqual(fs.readFileSync(g.file), en);

    await assert.rejects(ensureFile("sst2", "train.tsv", { mirror: null, cacheDir, registry: sst, log }), (e: unknown) => {
      assert.ok(e instanceof ChecksumError);
      assert.match(e.message, new RegExp(`sst2/train\\.tsv: expected sha256 ${getFile("sst2", "train.tsv", REG).sha256}`));
      return true;
    });
    await assert.rejects(ensureFile("sst2", "test.tsv", { mirror: null, cacheDir, registry: sst, log }), /HTTP 404 from .*\/files\/test\.tsv.*npm run fetch-data -- sst2/);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, "sst2")).sort(), [".dev.tsv.verified", "dev.tsv"]);
  } finally {
    server.close();
  }
});

test("samples: every loader reads the committed samples without the corpora", async () => {
  const s = sampleRegistry();
  const n = (name: string, file: string): number => getFile(name, file, s).examples as number;
  const train = await loadSst2("train", { sample: true });
  assert.equal(train.length, n("sst2", "train.tsv"));
  assert.ok(new Set(train.map((x) => x.label)).size === 2, "both labels occur");
  assert.equal((await loadSst2("test", { sample: true }))[0].label, null);
  const gen = await loadCogs("gen", { sample: true });
  assert.equal(new Set(gen.map((x) => x.category)).size, 21, "every generalization case is sampled");
  assert.equal((await loadMulti30k("val", { sample: true })).length, n("multi30k_en_de", "val.en"));
  assert.match(await loadTinyShakespeare({ sample: true }), /^First Citizen:\n/);
  for (const list of ["birkbeck", "holbrook", "aspell", "wikipedia"] as const) {
    const rows = await loadSpelling(list, { sample: true });
    assert.equal(rows.length, n("spelling_mitton", getFile("spelling_mitton", { birkbeck: "missp.dat", holbrook: "holbrook-missp.dat", aspell: "aspell.dat", wikipedia: "wikipedia.dat" }[list], s).path), list);
    assert.ok(rows.length >= 60 && rows.every((r) => r.correct.length > 0 && r.misspelling.length > 0 && !/_|\d/.test(r.misspelling)), list);
  }
  const total = s.datasets && Object.values(s.datasets).reduce((t, d) => t + d.files.reduce((u, f) => u + f.bytes, 0), 0);
  assert.ok(total < 500_000, `samples stay commit-sized (${total} bytes)`);
});

test("parsers: formats and their errors", () => {
  assert.deepEqual(parseSpellingList("$a_lot\nalot\n$?\nzzz 2\n$sister\nsiter 3\nsistor 1\n"), [
    { correct: "a lot", misspelling: "alot" },
    { correct: "sister", misspelling: "siter" },
    { correct: "sister", misspelling: "sistor" },
  ]);
  assert.throws(() => parseSpellingList("oops\n$word\n", "x.dat"), /x\.dat line 1: misspelling "oops" before any \$correct line/);
  assert.deepEqual(parseSst2("sentence\tlabel\ngood fun \t1\n"), [{ text: "good fun", label: 1 }]);
  assert.throws(() => parseSst2("sentence\tlabel\nbad\t2\n", "t.tsv"), /t\.tsv line 2: expected "sentence<TAB>0\|1"/);
  assert.throws(() => parseSst2("text\tlabel\n"), /neither "sentence\\tlabel" nor "index\\tsentence"/);
  assert.deepEqual(parseCogs("A cat ran .\t* cat ( x _ 1 )\tin_distribution\n"), [{ source: "A cat ran .", target: "* cat ( x _ 1 )", category: "in_distribution" }]);
  assert.throws(() => parseCogs("only\ttwo\n", "c.tsv"), /c\.tsv line 1: expected 3 tab-separated columns, got 2/);
});

test("make-samples reproduces the committed samples byte for byte", { skip: REAL ? false : "needs the full corpora (NLU_DATA_MIRROR or ../shared/datasets)" }, async () => {
  const out = tmpDir("samples");
  const reg = await makeSamples({ mirror: REAL, outDir: out, cacheDir: tmpDir("samples-cache"), log: quiet });
  assert.deepEqual(reg, sampleRegistry());
  for (const name of datasetNames(reg)) {
    for (const f of reg.datasets[name].files) {
      // A gzip is compared by its text: another zlib build may compress the same text differently.
      const read = (p: string): Buffer => (p.endsWith(".gz") ? zlib.gunzipSync(fs.readFileSync(p)) : fs.readFileSync(p));
      assert.deepEqual(read(path.join(out, name, f.path)), read(path.join(ROOT, "datasets", "samples", name, f.path)), `${name}/${f.path}`);
    }
  }
});

test("dataset notes are one short stdout line naming the dataset, not stderr and not the mirror's path", async () => {
  const cacheDir = tmpDir("quiet-notes");
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    await ensureFile("sst2", "dev.tsv", { mirror: MIRROR, cacheDir, registry: REG }); // default log
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  assert.deepEqual(err, [], "nothing on stderr (a pink error box in Jupyter)");
  assert.deepEqual(out, ["sst2/dev.tsv: copied from the data mirror, checksum OK"]);
});
