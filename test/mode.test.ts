import { test } from "node:test";
import assert from "node:assert/strict";
import { mode, sized } from "../lib/mode";

test("mode defaults to quick and reads NLU_MODE", () => {
  assert.equal(mode({}), "quick");
  assert.equal(mode({ NLU_MODE: "FULL" }), "full");
  assert.throws(() => mode({ NLU_MODE: "fast" }), /NLU_MODE="fast" is not a mode: use one of quick, full/);
  const prev = process.env.NLU_MODE;
  process.env.NLU_MODE = "full";
  assert.equal(sized({ quick: 1, full: 2 }), 2);
  process.env.NLU_MODE = prev ?? "";
  assert.equal(sized({ quick: 1, full: 2 }), 1);
});
