// Runs every test/**/*.test.ts with node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-unit-tests.mjs [substring filter ...]
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.ts")) files.push(relative(root, p));
  }
})(join(root, "test"));
const chosen = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (chosen.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)} (have: ${files.join(", ")})`);
  process.exit(1);
}
// One file at a time: the machine has 2 cores and several tests train models.
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...chosen], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NLU_MODE: process.env.NLU_MODE ?? "quick" },
});
process.exit(r.status ?? 1);
