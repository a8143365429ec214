// IMDB (Maas et al. 2011) from the archive users actually download, aclImdb_v1.tar.gz, into the three files
// the course's registry lists (imdb/train.tsv, imdb/test.tsv, imdb/unsup.txt.gz), byte for byte.
//
// Upstream ships one file per review (aclImdb/{train,test}/{neg,pos}/{id}_{rating}.txt, aclImdb/train/unsup/
// {id}_0.txt), so no single URL returns the registry's files: the registry marks them `assembled` and, when
// neither the cache nor a mirror has them, ensureFile() downloads the archive and runs this recipe (the one
// written in the collection's imdb/SOURCE.md):
//   train/test: header `label<TAB>rating<TAB>id<TAB>text`; neg (label 0) before pos (label 1), ids ascending;
//               every TAB inside a review becomes a space; one review per line, nothing else changed.
//   unsup:      ids 0..49,999 in order, one review per line (tabs kept), gzipped.
// The result is checked against the registry's sha256 (for the gzip, the sha256 of its decompressed text, since
// another gzip build compresses differently).
import * as fs from "fs";
import * as path from "path";
import { pipeline } from "stream/promises";
import { Writable } from "stream";
import * as zlib from "zlib";
import { DownloadOptions, download } from "./http";
import { Want, tempName, verifyOrDelete, writeStamp } from "./verify";

/** One review file of the archive. */
export interface AclImdbReview {
  split: "train" | "test";
  /** "unsup" only under train/. */
  folder: "neg" | "pos" | "unsup";
  id: number;
  rating: number;
  bytes: Buffer;
}

const REVIEW_PATH = /(?:^|\/)aclImdb\/(train|test)\/(neg|pos|unsup)\/(\d+)_(\d+)\.txt$/;

/** Parse an archive path into its review coordinates, or null for any other file (.feat, urls, README...). */
export function parseReviewPath(name: string): Omit<AclImdbReview, "bytes"> | null {
  const m = REVIEW_PATH.exec(name);
  if (!m) return null;
  return { split: m[1] as "train" | "test", folder: m[2] as "neg" | "pos" | "unsup", id: Number(m[3]), rating: Number(m[4]) };
}

/**
 * Stream the regular files of a tar (ustar/GNU/pax, as GNU tar writes them) to `onFile(name, bytes)`.
 * Minimal on purpose: 512-byte headers, sizes in octal, long names through GNU 'L' or pax 'path' records.
 */
export function tarFileStream(onFile: (name: string, bytes: Buffer) => void): Writable {
  let buf = Buffer.alloc(0);
  let longName: string | null = null;
  let want: { name: string; size: number; type: string } | null = null;
  const text = (b: Buffer, from: number, len: number): string => {
    const s = b.subarray(from, from + len);
    const end = s.indexOf(0);
    return s.subarray(0, end < 0 ? s.length : end).toString("utf8");
  };
  const pad = (n: number): number => Math.ceil(n / 512) * 512;
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        for (;;) {
          if (!want) {
            if (buf.length < 512) break;
            const h = buf.subarray(0, 512);
            if (h.every((x) => x === 0)) {
              buf = buf.subarray(512); // end-of-archive blocks
              continue;
            }
            const size = parseInt(text(h, 124, 12).trim() || "0", 8);
            if (!Number.isFinite(size)) throw new Error("corrupt tar header (size is not octal): is this a .tar.gz?");
            const prefix = text(h, 345, 155);
            const name = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
            want = { name, size, type: String.fromCharCode(h[156] || 48) };
            buf = buf.subarray(512);
          }
          if (buf.length < pad(want.size)) break;
          const body = Buffer.from(buf.subarray(0, want.size));
          buf = buf.subarray(pad(want.size));
          const { name, type } = want;
          want = null;
          if (type === "L") longName = text(body, 0, body.length);
          else if (type === "x") {
            const m = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
            longName = m ? m[1] : null;
          } else {
            if (type === "0" || type === "\0" || type === "7") onFile(name, body);
            longName = null;
          }
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}

/** Read every review of an aclImdb .tar.gz (other files are skipped). */
export async function readAclImdbArchive(archive: string): Promise<AclImdbReview[]> {
  const out: AclImdbReview[] = [];
  await pipeline(fs.createReadStream(archive), zlib.createGunzip(), tarFileStream((name, bytes) => {
    const p = parseReviewPath(name);
    if (p) out.push({ ...p, bytes });
  }));
  return out;
}

const TAB = 0x09;
const SPACE = 0x20;

/** The labelled TSV of one split, exactly as imdb/SOURCE.md's recipe writes it. */
export function labelledTsv(reviews: AclImdbReview[], split: "train" | "test"): Buffer {
  const parts: Buffer[] = [Buffer.from("label\trating\tid\ttext\n")];
  (["neg", "pos"] as const).forEach((folder, label) => {
    const rows = reviews.filter((r) => r.split === split && r.folder === folder).sort((a, b) => a.id - b.id);
    for (const r of rows) {
      const text = Buffer.from(r.bytes);
      for (let i = 0; i < text.length; i++) if (text[i] === TAB) text[i] = SPACE;
      parts.push(Buffer.from(`${label}\t${r.rating}\t${r.id}\t`), text, Buffer.from("\n"));
    }
  });
  return Buffer.concat(parts);
}

/** The unlabelled reviews, one per line in id order (tabs kept), as plain text (gzip it to store). */
export function unsupLines(reviews: AclImdbReview[]): Buffer {
  const rows = reviews.filter((r) => r.folder === "unsup").sort((a, b) => a.id - b.id);
  rows.forEach((r, i) => {
    if (r.id !== i) throw new Error(`aclImdb/train/unsup has no review ${i} (next is ${r.id}): the archive is incomplete.`);
  });
  return Buffer.concat(rows.flatMap((r) => [r.bytes, Buffer.from("\n")]));
}

/** What the recipe makes for each registry file name. */
export const IMDB_RECIPES: Record<string, (reviews: AclImdbReview[]) => Buffer> = {
  "train.tsv": (r) => labelledTsv(r, "train"),
  "test.tsv": (r) => labelledTsv(r, "test"),
  "unsup.txt.gz": (r) => zlib.gzipSync(unsupLines(r), { level: 9 }),
};

/** What buildFromArchive needs of a registry file entry (structurally a DatasetFile). */
export interface ArchiveBuiltFile extends Want {
  path: string;
  assembled?: { recipe: string; archive: { url: string; bytes: number; sha256: string } };
}

/**
 * Every `assembled` file of a dataset from the one archive they come from: download and check the archive, run
 * each file's recipe, check each result against its registry entry, stamp it; the archive is deleted after.
 */
export async function buildFromArchive(name: string, entries: ArchiveBuiltFile[], dir: string, opts: DownloadOptions): Promise<void> {
  const files = entries.filter((x) => x.assembled);
  if (files.length === 0) throw new Error(`dataset "${name}" has no files built from an archive.`);
  const archive = files[0].assembled!.archive;
  for (const f of files) {
    if (!IMDB_RECIPES[f.path]) throw new Error(`no recipe in lib/data/aclimdb.ts builds ${name}/${f.path}.`);
  }
  const tmp = tempName(path.join(dir, path.basename(new URL(archive.url).pathname)));
  try {
    opts.log(`${name}: building its files from ${archive.url} (upstream keeps one file per review)`);
    await download(archive.url, tmp, `${name} archive`, archive.bytes, opts);
    await verifyOrDelete(tmp, archive, archive.url, `The download was deleted; the archive may have changed upstream. Use NLU_DATA_MIRROR, or report it.`);
    const reviews = await readAclImdbArchive(tmp);
    for (const f of files) {
      const dest = path.join(dir, f.path);
      const out = tempName(dest);
      try {
        fs.writeFileSync(out, IMDB_RECIPES[f.path](reviews));
        const hint = "The built file was deleted: the archive or the recipe in lib/data/aclimdb.ts disagrees with the registry.";
        await verifyOrDelete(out, f, `${name}/${f.path} (built from ${archive.url})`, hint);
        fs.renameSync(out, dest);
        writeStamp(dest, f);
      } finally {
        fs.rmSync(out, { force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
