// Checking files against the registry: sha256 + size (or, for a gzip stored with contentSha256, the sha256 of its
// decompressed text), and the stamp that lets a verified file be trusted by size + mtime until it changes.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";

/** A file whose size or sha256 differs from the registry. The bad copy has already been removed. */
export class ChecksumError extends Error {
  constructor(
    readonly file: string,
    readonly expected: { sha256: string; bytes: number },
    readonly actual: { sha256: string; bytes: number },
    hint: string,
  ) {
    super(
      `checksum mismatch for ${file}: expected sha256 ${expected.sha256} (${expected.bytes} bytes), ` +
        `got sha256 ${actual.sha256} (${actual.bytes} bytes). ${hint}`,
    );
    this.name = "ChecksumError";
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

// The stamp records size+mtime of a file that hashed correctly, so later loads skip the hash (and the file
// read it costs) until the file changes. It lives beside the file: <dir>/.<file>.verified
export const stampPath = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.verified`);
interface Stamp { sha256: string; bytes: number; mtimeMs: number }

export function stampSays(file: string, st: fs.Stats, f: Want): boolean {
  try {
    const s = JSON.parse(fs.readFileSync(stampPath(file), "utf8")) as Stamp;
    const sizeOk = st.size === f.bytes || f.contentSha256 !== undefined; // a re-gzipped copy has its own size
    return s.sha256 === f.sha256 && s.bytes === st.size && s.mtimeMs === st.mtimeMs && sizeOk;
  } catch {
    return false;
  }
}

export function writeStamp(file: string, f: Want): void {
  const st = fs.statSync(file);
  const s: Stamp = { sha256: f.sha256, bytes: st.size, mtimeMs: st.mtimeMs };
  writeFileAtomic(stampPath(file), JSON.stringify(s) + "\n");
}

export type Want = { sha256: string; bytes: number; contentSha256?: string; contentBytes?: number };

/** Hash `file` -> its sha256 and size, and whether they match `want` (or, for a gzip, its decompressed text does). */
export async function check(file: string, want: Want): Promise<{ ok: boolean; sha256: string; bytes: number }> {
  const actual = { sha256: await sha256File(file), bytes: fs.statSync(file).size };
  if (actual.sha256 === want.sha256 && actual.bytes === want.bytes) return { ok: true, ...actual };
  if (want.contentSha256) {
    const hash = crypto.createHash("sha256");
    let n = 0;
    const ok = await pipeline(fs.createReadStream(file), zlib.createGunzip(), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) (hash.update(c), (n += c.length));
    }).then(() => hash.digest("hex") === want.contentSha256 && n === want.contentBytes, () => false);
    if (ok) return { ok, ...actual };
  }
  return { ok: false, ...actual };
}

/** Hash `file`; on a mismatch delete it and throw a ChecksumError naming `label` (where the bytes came from). */
export async function verifyOrDelete(file: string, want: Want, label: string, hint: string): Promise<void> {
  const actual = await check(file, want);
  if (actual.ok) return;
  fs.rmSync(file, { force: true });
  throw new ChecksumError(label, want, actual, hint);
}

export const tempName = (dest: string): string => `${dest}.part-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;

/**
 * Write `file` so that no reader ever sees half of it: the bytes go to a temp file beside it (tempName: unique per
 * process and call), which is renamed over `file` (atomic on one filesystem). A crash, an interrupt or a second
 * kernel writing the same cache at the same moment leaves either the old file or the new one, never a torn one.
 */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = tempName(file);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
