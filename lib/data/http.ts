// HTTP downloads for the dataset registry: GET with redirects and a silence timeout, streamed to a file with
// one progress line per quarter (so logs and notebooks stay short). Verification is the caller's job.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface DownloadOptions {
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Give up on a connection silent for this long. */
  timeoutMs: number;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** GET a URL, following up to `redirects` redirects; resolves with the 200 response. */
export function httpGet(url: string, timeoutMs: number, redirects = 5): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith("https:") ? https : http;
    const req = client.get(url, { headers: { "user-agent": "nlu-course fetch-data" } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`too many redirects at ${url}`));
        resolve(httpGet(new URL(res.headers.location, url).href, timeoutMs, redirects - 1));
      } else if (status !== 200) {
        res.resume();
        reject(new Error(`HTTP ${status} from ${url}`));
      } else resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data from ${url} for ${timeoutMs / 1000} s`)));
    req.on("error", reject);
  });
}

/** Stream a URL into `dest`, reporting progress at each quarter (one line each, so logs and notebooks stay short). */
export async function download(url: string, dest: string, label: string, expectBytes: number, opts: DownloadOptions): Promise<void> {
  const res = await httpGet(url, opts.timeoutMs);
  const total = Number(res.headers["content-length"]) || expectBytes;
  let seen = 0;
  let nextQuarter = 1;
  const started = Date.now();
  opts.log(`downloading ${label} (${mb(total)}) from ${url}`);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      while (total > 0 && seen >= (nextQuarter * total) / 4 && nextQuarter <= 4) {
        const secs = (Date.now() - started) / 1000;
        opts.log(`  ${label}: ${mb(seen)} / ${mb(total)} (${nextQuarter * 25}%) ${secs.toFixed(1)} s`);
        nextQuarter++;
      }
      done(null, chunk);
    },
  });
  await pipeline(res, counter, fs.createWriteStream(dest));
}

