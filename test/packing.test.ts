import { test } from "node:test";
import assert from "node:assert/strict";
import { packSequences } from "../lib/data/packing";
import { SEP_ID } from "../lib/data/vocab";

test("packing: full windows, a separator between documents, the stream kept in order", () => {
  const docs = [[10, 11, 12], [], [20, 21], [30, 31, 32, 33, 34]];
  const w = packSequences(docs, { length: 4 });
  assert.deepEqual(w, [[10, 11, 12, SEP_ID], [20, 21, SEP_ID, 30], [31, 32, 33, 34]]);
  assert.ok(w.every((x) => x.length === 4));
  // Concatenated, the windows are the documents joined by the separator (empty documents skipped).
  assert.deepEqual(w.flat(), [10, 11, 12, SEP_ID, 20, 21, SEP_ID, 30, 31, 32, 33, 34]);
  assert.deepEqual(packSequences(docs, { length: 5, keepRemainder: true }).map((x) => x.length), [5, 5, 2]);
  assert.deepEqual(packSequences(docs, { length: 5 }).length, 2, "the short remainder is dropped by default");
  assert.deepEqual(packSequences(docs, { length: 3, separator: null }), [[10, 11, 12], [20, 21, 30], [31, 32, 33]]);
  assert.equal(packSequences(docs, { length: 2, maxWindows: 2 }).length, 2);
  assert.throws(() => packSequences(docs, { length: 0 }), /length \(0\) must be a positive integer/);
  assert.throws(() => packSequences(["abc" as unknown as number[]], { length: 2 }), /expects arrays of token ids/);
});
